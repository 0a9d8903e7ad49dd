"""The staff pages: the college's (college admin, methodist) and the teacher's, served from web_client/staff."""
