"""Operations on the warehouse: backfills, reconcile, invalidation, and their progress."""
