from pipeline_app.install import create_abandoned_reason


def execute():
	"""Sites installed before abandonment gave a lost reason get the system reason."""
	create_abandoned_reason()
