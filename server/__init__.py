"""The proctoring server: course and exam backend (REST API, SQLAlchemy models), live exam serving.

Entry points: :func:`server.app.create_app` (the ASGI app factory) and :func:`server.app.run`
(migrate, seed the demo data, serve with uvicorn). Settings live in :class:`server.settings.ServerSettings`.
"""
