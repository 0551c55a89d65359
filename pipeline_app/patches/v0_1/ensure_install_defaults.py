from pipeline_app.install import after_install


def execute():
	"""Sites that installed an earlier build get what after_install creates, only where missing."""
	after_install()
