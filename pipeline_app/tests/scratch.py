"""What tests that make and drop sites of their own share."""

import json
import os
import sys

from frappe.utils.background_jobs import get_redis_conn


def forget_site_jobs(site: str, conn=None) -> None:
	"""Removes a dropped site's jobs from the bench's job queue (queues, registries, job and result
	records): an RQ worker that meets a job of a site that no longer exists while cleaning its
	registries crashes, and takes the bench's other processes down with it."""
	conn = conn or get_redis_conn()
	prefix = f"{site}::"
	for key in conn.scan_iter("rq:*"):
		name = key.decode()
		if name.startswith((f"rq:job:{prefix}", f"rq:results:{prefix}")):
			conn.delete(key)
			continue
		kind = conn.type(key)
		if kind == b"zset":
			stale = [member for member in conn.zrange(key, 0, -1) if member.decode().startswith(prefix)]
			if stale:
				conn.zrem(key, *stale)
		elif kind == b"list":
			for member in {m for m in conn.lrange(key, 0, -1) if m.decode().startswith(prefix)}:
				conn.lrem(key, 0, member)


def wait_for_site_jobs(site: str, timeout: float = 120, conn=None) -> bool:
	"""Waits until no job of `site` is queued or running (RQ's queues and started registries).
	Returns whether they all ended within `timeout` seconds."""
	import time

	conn = conn or get_redis_conn()
	prefix = f"{site}::".encode()
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline:
		pending = False
		for key in conn.scan_iter("rq:*"):
			name = key.decode()
			kind = conn.type(key)
			if kind == b"list" and name.startswith("rq:queue:"):
				pending = any(m.startswith(prefix) for m in conn.lrange(key, 0, -1))
			elif kind == b"zset" and name.startswith("rq:wip:"):
				pending = any(m.startswith(prefix) for m in conn.zrange(key, 0, -1))
			if pending:
				break
		if not pending:
			return True
		time.sleep(0.5)
	return False


def forget_jobs_of_missing_sites(sites_dir: str) -> list[str]:
	"""Forgets the jobs of every site that is not (or no longer) in `sites_dir`, for instance of a
	scratch site an interrupted test run dropped; run before the bench's worker starts (scripts/lib.sh).
	Returns those sites."""
	import redis

	with open(os.path.join(sites_dir, "common_site_config.json")) as config:
		conn = redis.Redis.from_url(json.load(config)["redis_queue"])
	sites = set()
	for key in conn.scan_iter("rq:*"):
		name = key.decode()
		if name.startswith(("rq:job:", "rq:results:")) and "::" in name:
			sites.add(name.split(":", 2)[2].split("::")[0])
		elif conn.type(key) == b"zset":
			sites.update(m.decode().split("::")[0] for m in conn.zrange(key, 0, -1) if b"::" in m)
	missing = sorted(site for site in sites if site and not os.path.isdir(os.path.join(sites_dir, site)))
	for site in missing:
		forget_site_jobs(site, conn)
	return missing


if __name__ == "__main__":
	print(" ".join(forget_jobs_of_missing_sites(sys.argv[1])))
