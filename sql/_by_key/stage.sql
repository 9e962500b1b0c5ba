-- Stages the changes of a by-key model (changes.sql) in a temporary table that the
-- transaction drops at commit: what they touch is known before anything is written.
drop table if exists {{ staged }};

create temporary table {{ staged }} on commit drop as
{% include "_by_key/changes.sql" %}
