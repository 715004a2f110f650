"""The HTTP API: bottle routes over the services, security checks, problem+json, OpenAPI."""
