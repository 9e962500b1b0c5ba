-- The readable files of one source holding rows of a sheet without a readable date, by path,
-- each with its snapshot keys and how many such rows it holds.
select f.path, f.sha256, hashtextextended(f.path, 0),
    hashtextextended(f.path || chr(9) || f.sha256, 0), s.undated_rows
from ops.source_sheets as s
inner join ops.source_files as f on f.sha256 = s.sha256
where f.source = %(source)s
    and f.error is null
    and s.sheet = %(sheet)s
    and s.error is null
    and s.undated_rows > 0
order by f.path
