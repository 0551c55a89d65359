"""Free slots of a booking page for a team of 10 hosts over 30 days: weekday hours 08:00-18:00 in
30-minute slots with a 10-minute buffer, each host holding 6 scheduled appointments a day (1,800
appointments in the range, plus 100,000 elsewhere in time so the query must use its index). Prints
the time of one 30-day answer (pipeline_app.booking.slots_answer: the query, the interval sweep and
the UTC conversion) as p50 / p95 over the runs, and its number of queries. Everything it made is
removed at the end (rolled back).

Run with the bench's Python from the bench's sites directory:
    ../env/bin/python ../apps/pipeline_app/benchmarks/booking_slots.py --site pipeline-bench.localhost
"""

import argparse
import random
import statistics
import time
from datetime import datetime, timedelta

import frappe

HOSTS = 10
DAYS = 30
PER_HOST_PER_DAY = 6
FAR_APPOINTMENTS = 100_000


def seed(team: str, opportunity: str, hosts: list[str]) -> None:
	from frappe.utils import now_datetime

	now = now_datetime()
	start = datetime.combine(now.date(), datetime.min.time())
	rng = random.Random(5)
	rows = []
	common = (now, now, "Administrator", "Administrator")

	def row(host, starts_at, minutes=30):
		rows.append(
			(
				frappe.generate_hash(length=16),
				*common,
				opportunity,
				team,
				starts_at,
				starts_at + timedelta(minutes=minutes),
				"Scheduled",
				host,
			)
		)

	for day in range(DAYS + 1):
		for host in hosts:
			for hour in rng.sample(range(8, 18), PER_HOST_PER_DAY):
				row(host, start + timedelta(days=day, hours=hour, minutes=rng.choice((0, 30))))
	for i in range(FAR_APPOINTMENTS):  # history: other hosts' and earlier appointments
		row(rng.choice(hosts), start - timedelta(days=60 + i % 700, hours=rng.randint(8, 17)))
	frappe.db.bulk_insert(
		"Pipeline Appointment",
		(
			"name",
			"creation",
			"modified",
			"owner",
			"modified_by",
			"opportunity",
			"team",
			"starts_at",
			"ends_at",
			"status",
			"host",
		),
		rows,
		chunk_size=5000,
	)


def main() -> None:
	parser = argparse.ArgumentParser()
	parser.add_argument("--site", required=True)
	parser.add_argument("--runs", type=int, default=30)
	args = parser.parse_args()
	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	from frappe.utils import getdate

	from pipeline_app import booking
	from pipeline_app.tests.counters import count_queries

	suffix = frappe.generate_hash(length=6)
	hosts = []
	for i in range(HOSTS):
		email = f"slot-host-{i}-{suffix}@booking-bench.test"
		frappe.get_doc(
			{"doctype": "User", "email": email, "first_name": f"Host {i}", "send_welcome_email": 0}
		).insert(ignore_permissions=True)
		hosts.append(email)
	team = frappe.get_doc(
		{
			"doctype": "Pipeline Team",
			"team_name": f"Slot benchmark {suffix}",
			"funnel_template": "Appointment funnel",
			"members": [{"user": host, "booking_host": 1} for host in hosts],
			"booking_enabled": 1,
			"booking_route": f"slot-bench-{suffix}",
			"booking_slot_minutes": 30,
			"booking_buffer_minutes": 10,
			"booking_days_ahead": DAYS,
			"booking_notice_hours": 0,
			"booking_hours": [
				{"weekday": day, "from_time": "08:00:00", "to_time": "18:00:00"}
				for day in booking.WEEKDAYS[:5]
			],
		}
	).insert(ignore_permissions=True)
	opportunity = frappe.get_doc(
		{"doctype": "Pipeline Opportunity", "team": team.name, "title": "Slot benchmark"}
	).insert(ignore_permissions=True)
	try:
		seed(team.name, opportunity.name, hosts)
		settings = booking.booking_team(team.booking_route)
		today = getdate()
		timings, slots = [], 0
		for _ in range(args.runs):
			started = time.perf_counter()
			answer = booking.slots_answer(settings, today, DAYS)
			timings.append((time.perf_counter() - started) * 1000)
		slots = sum(len(day["slots"]) for day in answer["days"])
		with count_queries() as queries:
			booking.slots_answer(settings, today, DAYS)
		timings.sort()
		p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
		print(
			f"Booking slots: {HOSTS} hosts, {DAYS} days, {HOSTS * PER_HOST_PER_DAY * (DAYS + 1):,} appointments in range"
		)
		print(f"  free slots in the answer: {slots}")
		print(
			f"  one 30-day answer: p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms ({args.runs} runs)"
		)
		print(f"  queries per answer: {len(queries)} (target: under 200 ms)")
	finally:
		frappe.db.rollback()
		frappe.destroy()


if __name__ == "__main__":
	main()
