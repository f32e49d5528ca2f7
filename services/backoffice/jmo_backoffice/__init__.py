"""The back office: the officers' and operators' web application over the services' HTTP APIs."""
