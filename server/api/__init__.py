"""REST routers of the course and exam backend (see server.app for how they are mounted)."""
