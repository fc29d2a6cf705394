"""HTTP layer: thin routers, authentication, problem+json errors and metrics."""
