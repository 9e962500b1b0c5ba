{#
compare_aggregates: the rows where two relations that aggregate the same keys disagree. The
check that calls it defines both relations as CTEs (`with gold as (...), silver as (...)`) and
says what to compare; this is the select that follows them.

    left, right   the two CTEs' names; each selects `keys` and `measures`
    keys          the columns joined on; the sample shows coalesce(left.key, right.key)
    measures      the columns compared; the sample shows <left>_<measure> and <right>_<measure>
    join          'full outer' (a key on one side only is compared with nothing) or 'left'
    nulls         'zero': a missing side or null counts as 0 (a gold row without purchases
                  matches no silver row); 'distinct': null is a value of its own
    left_required a key missing from the left side fails even when the measures agree
    left_columns  columns of the left side shown first in the sample (e.g. its finer key)
#}
{% macro compare_aggregates(left, right, keys, measures, join='full outer', nulls='zero',
                            left_required=false, left_columns=()) %}
select
{% for column in left_columns %}
    {{ left }}.{{ column }},
{% endfor %}
{% for key in keys %}
    coalesce({{ left }}.{{ key }}, {{ right }}.{{ key }}) as {{ key }},
{% endfor %}
{% for measure in measures %}
    {{ left }}.{{ measure }} as {{ left }}_{{ measure }},
    {{ right }}.{{ measure }} as {{ right }}_{{ measure }}{{ ',' if not loop.last }}
{% endfor %}
from {{ left }}
{{ join }} join {{ right }}
    on {% for key in keys %}{{ right }}.{{ key }} = {{ left }}.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}

where {% if left_required %}{{ left }}.{{ keys[0] }} is null
   or {% endif %}{% for measure in measures %}
{% if nulls == 'zero' %}
coalesce({{ left }}.{{ measure }}, 0) <> coalesce({{ right }}.{{ measure }}, 0)
{%- else %}
{{ left }}.{{ measure }} is distinct from {{ right }}.{{ measure }}
{%- endif %}
{{ '\n   or ' if not loop.last }}{% endfor %}

{% endmacro %}
