"""What `serve` offers over HTTP: the WSGI server and router (`server`), the JSON response helper
every endpoint shares (`responses`) and the endpoints registered with the server (the
monitoring API here; the MLflow webhook in `bot/integrations`; Slack events in `bot/slack`).
Nothing imports the server back."""
