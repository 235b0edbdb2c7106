"""The registry of the golden-gate DAG tests: a good and a bad LLM sentiment agent on one OpenAI stand-in
(``good-model`` / ``bad-model``); ``extra`` appends more entries (YAML indented like these, a
format string like them: ``{base_url}``, doubled braces)."""

SENTIMENT_AGENTS = """
agents:
  - name: good-sentiment
    input_fields: [{{name: text, synonyms: [review]}}]
    output_schema: &schema {{type: object, properties: {{sentiment: {{enum: [positive, neutral, negative]}}}},
                            required: [sentiment]}}
    invocation: {{kind: llm, model: good-model, base_url: "{base_url}", max_attempts: 1}}
  - name: bad-sentiment
    input_fields: [{{name: text, synonyms: [review]}}]
    output_schema: *schema
    invocation: {{kind: llm, model: bad-model, base_url: "{base_url}", max_attempts: 1}}
"""


def sentiment_registry(base_url: str, extra: str = "") -> str:
    return (SENTIMENT_AGENTS + extra).format(base_url=base_url)
