"""What tests that make and drop sites of their own share."""

from frappe.utils.background_jobs import get_redis_conn


def forget_site_jobs(site: str) -> None:
	"""Removes a dropped site's jobs from the bench's job queue (queues, registries, job and result
	records): an RQ worker that meets a job of a site that no longer exists while cleaning its
	registries crashes, and takes the bench's other processes down with it."""
	conn = get_redis_conn()
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
