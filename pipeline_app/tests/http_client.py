"""A small HTTP client for tests that go through the running bench, as integrators do."""

import json
import os

import frappe
import requests

BASE_URL = os.environ.get("PIPELINE_TEST_URL", "http://127.0.0.1:8000")


def api_credentials(user: str) -> str:
	"""Creates (or rotates) the user's API key and secret; returns the Authorization header value.
	Commits: the web server runs in another process."""
	doc = frappe.get_doc("User", user)
	secret = frappe.generate_hash(length=15)
	doc.api_key = doc.api_key or frappe.generate_hash(length=15)
	doc.api_secret = secret
	doc.flags.ignore_permissions = True
	doc.save()
	frappe.db.commit()
	return f"token {doc.api_key}:{secret}"


class Client:
	def __init__(self, authorization: str | None = None):
		self.session = requests.Session()
		self.session.headers["X-Frappe-Site-Name"] = frappe.local.site
		self.session.headers["Accept"] = "application/json"
		if authorization:
			self.session.headers["Authorization"] = authorization

	@classmethod
	def as_user(cls, user: str) -> "Client":
		return cls(api_credentials(user))

	def request(self, method: str, path: str, **kwargs) -> requests.Response:
		return self.session.request(method, BASE_URL + path, timeout=30, **kwargs)

	def get(self, path, **params):
		return self.request("GET", path, params=params)

	def post(self, path, data=None, **kwargs):
		return self.request("POST", path, json=data, **kwargs)

	def put(self, path, data):
		return self.request("PUT", path, json=data)

	def delete(self, path):
		return self.request("DELETE", path)

	def call(self, method: str, http_method: str = "POST", **args) -> requests.Response:
		"""Calls a whitelisted method; dict/list arguments are sent as JSON strings, as frappe.call does."""
		args = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in args.items()}
		if http_method == "GET":
			return self.request("GET", f"/api/method/{method}", params=args)
		return self.request(http_method, f"/api/method/{method}", data=args)


def message(response: requests.Response):
	response.raise_for_status()
	return response.json().get("message")
