-- Full refresh of [start, stop): remove the rows of every table the invalidated tasks write,
-- and their markers, so that the next run rebuilds the range. Which tasks and tables: the
-- task graph (playstudio_luigi.tasks.graph), never a list kept here.
{% for table, column in tables %}
delete from {{ table }} where {{ column }} >= %(start)s and {{ column }} < %(stop)s;
{% endfor %}

delete from ops.task_markers
where interval_start >= %(start)s
  and interval_start < %(stop)s
  and task_family = any(%(families)s);
