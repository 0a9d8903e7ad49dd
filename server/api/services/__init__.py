"""Operations that read and write the database for the routers (and for the live-exam side): each takes the
request's session and runs inside its transaction; the rules themselves are in server.domain."""
