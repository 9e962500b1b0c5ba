-- Every file version some source's catalog still names: the parse cache keeps these.
select distinct sha256
from ops.source_files
where sha256 is not null
