#!/usr/bin/env bash
# Shared setup for scripts/demo and scripts/test: installs whatever is missing, idempotently.
#
# Environment (all optional):
#   FRAPPE_REPO      Frappe repository to install (default: upstream https://github.com/frappe/frappe)
#   FRAPPE_BRANCH    its branch (default: version-15)
#   BENCH_USER       the non-root user that owns the bench (default: frappe)
#   BENCH_DIR        where the bench lives (default: /home/$BENCH_USER/pipeline-bench)
#   DB_ROOT_PASSWORD MariaDB root password set on first run (default: pipeline-root)
#   ADMIN_PASSWORD   Administrator password of the sites (default: admin)
#   ERPNEXT_REPO     ERPNext repository, for the ERPNext tests (default: upstream https://github.com/frappe/erpnext)
#   ERPNEXT_BRANCH   its branch (default: version-15)
set -euo pipefail

FRAPPE_REPO=${FRAPPE_REPO:-https://github.com/frappe/frappe}
FRAPPE_BRANCH=${FRAPPE_BRANCH:-version-15}
BENCH_USER=${BENCH_USER:-frappe}
BENCH_HOME=$(getent passwd "$BENCH_USER" 2>/dev/null | cut -d: -f6 || true)
BENCH_HOME=${BENCH_HOME:-/home/$BENCH_USER}
BENCH_DIR=${BENCH_DIR:-$BENCH_HOME/pipeline-bench}
DB_ROOT_PASSWORD=${DB_ROOT_PASSWORD:-pipeline-root}
ADMIN_PASSWORD=${ADMIN_PASSWORD:-admin}
ERPNEXT_REPO=${ERPNEXT_REPO:-https://github.com/frappe/erpnext}
ERPNEXT_BRANCH=${ERPNEXT_BRANCH:-version-15}
APP_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# bench prints progress bars with carriage returns: keep logs readable
quiet_progress() { tr '\r' '\n' | grep -v -e '^Updating DocTypes' -e '^$' || true; }

log() { printf '\033[1;34m==> %s\033[0m\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Runs a command as the bench user, in the bench directory when it exists, with a login-like PATH.
as_bench() {
	local dir=$BENCH_HOME
	[ -d "$BENCH_DIR" ] && dir=$BENCH_DIR
	local path="$BENCH_HOME/.bench-cli/bin:$BENCH_HOME/.yarn-global/bin:/usr/local/bin:/usr/bin:/bin"
	if [ "$(id -un)" = "$BENCH_USER" ]; then
		(cd "$dir" && PATH="$path" "$@")
	else
		local switch=(sudo -H -u "$BENCH_USER")
		[ "$(id -u)" -eq 0 ] && switch=(runuser -u "$BENCH_USER" --)
		"${switch[@]}" env PATH="$path" HOME="$BENCH_HOME" LANG=C.UTF-8 \
			FRAPPE_REPO="$FRAPPE_REPO" FRAPPE_BRANCH="$FRAPPE_BRANCH" \
			bash -c 'cd "$0" && exec "$@"' "$dir" "$@"
	fi
}

bench_cmd() { as_bench bench "$@"; }

install_system_packages() {
	local pkgs=(git curl rsync sudo procps mariadb-server mariadb-client redis-server
		python3 python3-venv python3-dev python3-pip pkg-config libmariadb-dev build-essential
		cron xvfb fonts-liberation)
	command -v node >/dev/null || pkgs+=(nodejs npm)
	[ "${WITH_BROWSER:-0}" = 1 ] && pkgs+=(chromium)
	local missing=()
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		log "Installing system packages: ${missing[*]}"
		as_root apt-get update -q
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
	fi
	if ! command -v yarn >/dev/null; then
		log "Installing yarn 1"
		as_root npm install -g yarn@1
	fi
}

ensure_bench_user() {
	if ! id "$BENCH_USER" >/dev/null 2>&1; then
		log "Creating user $BENCH_USER"
		as_root useradd -m -s /bin/bash "$BENCH_USER"
	fi
	BENCH_HOME=$(getent passwd "$BENCH_USER" | cut -d: -f6)
	as_root chmod o+rx "$BENCH_HOME"
}

# The new configuration is read at start: restart the server it configures, the system's MariaDB
# service (the one on the default socket), and no other MariaDB server of the machine.
restart_configured_mariadb() {
	as_root mariadb-admin ping >/dev/null 2>&1 || return 0 # not running: started below
	log "Restarting MariaDB to apply the configuration"
	if as_root service mariadb restart >/dev/null 2>&1; then return 0; fi
	# no init script answered (a container started mysqld_safe by hand): shut down the server on the
	# default socket only, and let start_mariadb start it again
	as_root mariadb-admin shutdown >/dev/null 2>&1 || true
	for _ in $(seq 30); do as_root mariadb-admin ping >/dev/null 2>&1 || return 0; sleep 1; done
	log "MariaDB did not stop for its restart"
	return 1
}

start_mariadb() {
	local conf=/etc/mysql/mariadb.conf.d/99-pipeline-app.cnf
	if [ ! -f "$conf" ]; then
		log "Configuring MariaDB for Frappe (utf8mb4)"
		as_root tee "$conf" >/dev/null <<'CNF'
[mysqld]
character-set-client-handshake = FALSE
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
innodb_buffer_pool_size = 1G

[mysql]
default-character-set = utf8mb4
CNF
		restart_configured_mariadb
	fi
	if ! as_root mariadb-admin ping >/dev/null 2>&1; then
		log "Starting MariaDB"
		as_root mkdir -p /run/mysqld
		as_root chown mysql:mysql /run/mysqld
		(as_root service mariadb start >/dev/null 2>&1) || (as_root nohup mysqld_safe >/dev/null 2>&1 &)
		for _ in $(seq 60); do as_root mariadb-admin ping >/dev/null 2>&1 && break; sleep 1; done
	fi
	# Frappe connects as root with a password over TCP; keep unix_socket auth for the OS root user.
	if ! mariadb -uroot -p"$DB_ROOT_PASSWORD" -h127.0.0.1 -e 'select 1' >/dev/null 2>&1; then
		log "Setting the MariaDB root password"
		as_root mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('$DB_ROOT_PASSWORD'); FLUSH PRIVILEGES;"
	fi
}

# The bench's progress, in $BENCH_DIR/$BENCH_MARKER: `started` (bench init running), `initialised`
# (bench init succeeded), `complete` (setuptools pinned, Redis configured). Only a directory this
# script started, or one holding nothing but what `bench init` makes, is ever removed to start over.
BENCH_MARKER=.pipeline-bench
BENCH_INIT_ENTRIES=" apps archived config env logs sites Procfile Procfile.pipeline patches.txt $BENCH_MARKER "

# bench_has_frappe DIR: Frappe is there and its Python env imports it.
bench_has_frappe() {
	local dir=$1
	[ -d "$dir/apps/frappe" ] && [ -x "$dir/env/bin/python" ] && grep -qx frappe "$dir/sites/apps.txt" 2>/dev/null \
		&& (cd "$dir/sites" && PYTHONDONTWRITEBYTECODE=1 "$dir/env/bin/python" -c 'import frappe') >/dev/null 2>&1
}

bench_has_sites() {
	local config
	for config in "$1"/sites/*/site_config.json; do [ -e "$config" ] && return 0; done
	return 1
}

# bench_state DIR prints what DIR is:
#   missing      nothing there
#   complete     a bench ready for use (marked complete, or made by an older lib.sh: Frappe imports, Redis
#                configured, setuptools pinned)
#   initialised  `bench init` succeeded, the steps after it did not run: finish them
#   partial      an unfinished bench (interrupted run): safe to remove and make again
#   foreign      anything else (another directory, a broken bench holding sites): never touched
bench_state() {
	local dir=$1 stage="" entry
	if [ ! -e "$dir" ] && [ ! -L "$dir" ]; then echo missing; return 0; fi
	if [ -L "$dir" ] || [ ! -d "$dir" ]; then echo foreign; return 0; fi
	[ -f "$dir/$BENCH_MARKER" ] && stage=$(head -n 1 "$dir/$BENCH_MARKER" 2>/dev/null || true)
	if bench_has_frappe "$dir"; then
		if [ "$stage" = complete ]; then echo complete; return 0; fi
		if [ -z "$stage" ] && [ -f "$dir/config/redis_cache.conf" ] && [ -f "$dir/config/redis_queue.conf" ] \
			&& (cd "$dir/sites" && PYTHONDONTWRITEBYTECODE=1 "$dir/env/bin/python" -c 'import pkg_resources') >/dev/null 2>&1; then
			echo complete
			return 0
		fi
	fi
	if bench_has_sites "$dir"; then echo foreign; return 0; fi # never rebuild a bench holding sites
	if [ "$stage" = initialised ] && bench_has_frappe "$dir"; then echo initialised; return 0; fi
	case "$stage" in started | initialised | complete) echo partial; return 0 ;; esac
	for entry in "$dir"/* "$dir"/.[!.]* "$dir"/..?*; do
		[ -e "$entry" ] || [ -L "$entry" ] || continue
		# an older lib.sh's `bench init`, interrupted (no marker yet): only what bench init makes
		case "$BENCH_INIT_ENTRIES" in *" ${entry##*/} "*) ;; *) echo foreign; return 0 ;; esac
	done
	echo partial
}

mark_bench() {
	as_bench bash -c 'printf "%s\n" "$1" > "$2"' mark "$1" "$BENCH_DIR/$BENCH_MARKER"
}

# remove_unfinished_bench DIR: removes DIR only if bench_state says it is an unfinished bench.
remove_unfinished_bench() {
	local dir=$1 state
	state=$(bench_state "$dir")
	if [ "$state" != partial ]; then
		log "Refusing to remove $dir: it is not an unfinished pipeline bench ($state)"
		return 1
	fi
	log "Removing the unfinished bench at $dir (an earlier run was interrupted)"
	if [ "$(id -u)" -eq 0 ] || [ -O "$dir" ]; then rm -rf -- "$dir"; else as_root rm -rf -- "$dir"; fi
}

ensure_bench() {
	if [ ! -x "$BENCH_HOME/.bench-cli/bin/bench" ] \
		|| ! PYTHONDONTWRITEBYTECODE=1 "$BENCH_HOME/.bench-cli/bin/python" -c 'import bench' >/dev/null 2>&1; then
		log "Installing the bench CLI"
		as_bench python3 -m venv "$BENCH_HOME/.bench-cli"
		as_bench "$BENCH_HOME/.bench-cli/bin/pip" install -q frappe-bench
	fi
	local state
	state=$(bench_state "$BENCH_DIR")
	case "$state" in
	foreign)
		log "$BENCH_DIR exists but is neither a complete pipeline bench nor an unfinished one this script"
		log "started: left untouched. Move it away, or set BENCH_DIR to another directory."
		return 1
		;;
	partial)
		remove_unfinished_bench "$BENCH_DIR"
		state=missing
		;;
	esac
	if [ "$state" = missing ]; then
		log "Creating the bench at $BENCH_DIR with $FRAPPE_REPO@$FRAPPE_BRANCH"
		as_bench mkdir -p "$BENCH_DIR"
		mark_bench started
		as_bench bench init "$BENCH_DIR" --ignore-exist --frappe-path "$FRAPPE_REPO" \
			--frappe-branch "$FRAPPE_BRANCH" --python /usr/bin/python3 --skip-assets \
			--skip-redis-config-generation --no-backups
		if ! bench_has_frappe "$BENCH_DIR"; then
			log "bench init did not finish; the next run starts the bench over"
			return 1
		fi
		mark_bench initialised
		state=initialised
	fi
	if [ "$state" = initialised ]; then
		log "Finishing the bench's setup"
		# Frappe v15 imports pkg_resources, which setuptools >= 81 no longer ships.
		as_bench ./env/bin/pip install -q "setuptools<70"
		as_bench bench setup redis
		as_bench bench set-config -g developer_mode 0 >/dev/null
		mark_bench complete
	elif [ ! -f "$BENCH_DIR/$BENCH_MARKER" ]; then
		mark_bench complete # made by an older lib.sh, complete
	fi
	sync_app
	if [ ! -f "$BENCH_DIR/sites/assets/frappe/dist/js/desk.bundle.js" ] \
		&& ! ls "$BENCH_DIR"/sites/assets/frappe/dist/js/desk.bundle.*.js >/dev/null 2>&1; then
		log "Building assets"
		as_bench bench build
	else
		# the board's bundle follows the checkout
		log "Building pipeline_app's assets"
		as_bench bench build --app pipeline_app 2>&1 | tail -n 3
	fi
}

# Copies this checkout into the bench (the bench user may not be able to read the checkout's path)
# and installs it into the bench's Python env with its test dependencies.
sync_app() {
	local dest=$BENCH_DIR/apps/pipeline_app
	log "Syncing pipeline_app into the bench"
	as_root rsync -a --delete --exclude .git --exclude node_modules --exclude '__pycache__' --exclude /pipeline_app/public/dist \
		--exclude '*.egg-info' "$APP_SRC/" "$dest/"
	as_root chown -R "$BENCH_USER:$BENCH_USER" "$dest"
	# (re)install when the declared dependencies changed since the last install
	local deps stamp=$BENCH_DIR/env/.pipeline_app-deps
	deps=$(cat "$APP_SRC/pyproject.toml" "$APP_SRC/setup.py" | sha256sum | cut -d' ' -f1)
	if [ "$(cat "$stamp" 2>/dev/null)" != "$deps" ] \
		|| ! as_bench ./env/bin/python -c 'import pipeline_app' >/dev/null 2>&1; then
		as_bench ./env/bin/pip install -q -e "apps/pipeline_app[test,browser]"
		as_bench bash -c "echo $deps > $stamp"
	fi
	if ! grep -qx pipeline_app "$BENCH_DIR/sites/apps.txt"; then
		# apps.txt may lack a trailing newline
		as_bench bash -c 'printf "%s\n" "$(cat sites/apps.txt)" pipeline_app | grep -v "^$" > sites/apps.tmp && mv sites/apps.tmp sites/apps.txt'
	fi
}

# Starts the bench's Redis servers (cache and queue) if they are not answering.
start_redis() {
	for conf in redis_cache redis_queue; do
		local port
		port=$(awk '/^port/ {print $2}' "$BENCH_DIR/config/$conf.conf")
		if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
			as_bench bash -c "redis-server config/$conf.conf --daemonize yes >/dev/null"
		fi
	done
}

# Browsers resolve *.localhost by themselves, but the socket.io server (Node) authenticates each
# connection by calling the site by name: the name must resolve (what `bench add-to-hosts` does).
ensure_hosts_entry() {
	local site=$1
	if ! getent hosts "$site" >/dev/null 2>&1; then
		log "Adding $site to /etc/hosts"
		echo "127.0.0.1 $site" | as_root tee -a /etc/hosts >/dev/null
	fi
}

# new_site NAME [--force] [APP...]: creates a site with the apps (default: pipeline_app), in that order,
# unless it exists (or always with --force); an existing site is migrated.
new_site() {
	local site=$1 force=${2:-}
	shift $(($# < 2 ? $# : 2))
	local apps=("$@") install=() app
	[ ${#apps[@]} -gt 0 ] || apps=(pipeline_app)
	for app in "${apps[@]}"; do install+=(--install-app "$app"); done
	ensure_hosts_entry "$site"
	if [ "$force" = --force ] || [ ! -f "$BENCH_DIR/sites/$site/site_config.json" ]; then
		log "Creating site $site with ${apps[*]}"
		bench_cmd new-site "$site" --force --mariadb-root-password "$DB_ROOT_PASSWORD" \
			--admin-password "$ADMIN_PASSWORD" "${install[@]}" 2>&1 | quiet_progress
		[ "${PIPESTATUS[0]}" = 0 ] || { log "Creating site $site failed"; return 1; }
	else
		log "Migrating site $site"
		bench_cmd --site "$site" migrate 2>&1 | quiet_progress
		[ "${PIPESTATUS[0]}" = 0 ] || { log "Migrating site $site failed"; return 1; }
	fi
}

# bench_has_erpnext: ERPNext is in the bench, listed in apps.txt, and its Python env imports it.
bench_has_erpnext() {
	[ -d "$BENCH_DIR/apps/erpnext" ] && grep -qx erpnext "$BENCH_DIR/sites/apps.txt" 2>/dev/null \
		&& (cd "$BENCH_DIR/sites" && PYTHONDONTWRITEBYTECODE=1 "$BENCH_DIR/env/bin/python" -c 'import erpnext') >/dev/null 2>&1
}

# ensure_erpnext: gets ERPNext ($ERPNEXT_REPO@$ERPNEXT_BRANCH) into the bench unless it is there; an
# interrupted get-app (a directory that does not import) is fetched again over it.
ensure_erpnext() {
	bench_has_erpnext && return 0
	local overwrite=()
	[ -e "$BENCH_DIR/apps/erpnext" ] && overwrite=(--overwrite)
	log "Getting ERPNext into the bench from $ERPNEXT_REPO@$ERPNEXT_BRANCH"
	as_bench bench get-app "${overwrite[@]}" --branch "$ERPNEXT_BRANCH" "$ERPNEXT_REPO" 2>&1 | quiet_progress
	if [ "${PIPESTATUS[0]}" != 0 ] || ! bench_has_erpnext; then
		log "Getting ERPNext failed"
		return 1
	fi
}

# erpnext_test_defaults SITE: completes ERPNext's setup wizard the way ERPNext's own tests do (a
# company, fiscal year, default customer group, territory, price lists), once.
erpnext_test_defaults() {
	bench_cmd --site "$1" execute erpnext.setup.utils.before_tests >/dev/null
}

# run_lint: the checks pre-commit runs, on the app as synced into the bench: ruff (lint and format)
# and prettier (Frappe's own copy, with the repository's .prettierrc) on the JavaScript and SCSS.
run_lint() {
	local status=0
	log "Linting: ruff check, ruff format --check, prettier --check"
	as_bench ./env/bin/ruff check apps/pipeline_app || status=1
	as_bench ./env/bin/ruff format --check apps/pipeline_app || status=1
	as_bench apps/frappe/node_modules/.bin/prettier --check --ignore-path apps/pipeline_app/.prettierignore \
		"apps/pipeline_app/pipeline_app/**/*.{js,scss,css}" "apps/pipeline_app/benchmarks/*.js" || status=1
	return $status
}

setup_all() {
	install_system_packages
	ensure_bench_user
	start_mariadb
	ensure_bench
	start_redis
}

# Empties the bench's job queue. Jobs left by a dropped site (the install test's scratch site) make
# RQ workers crash while cleaning their registries; the test suite starts from an empty queue.
# wait_for_job_queue SECONDS: until the bench's job queues are empty (what a run left queued, a new
# site's first jobs), at most SECONDS
wait_for_job_queue() {
	local port queued key waited=0
	port=$(awk '/^port/ {print $2}' "$BENCH_DIR/config/redis_queue.conf")
	while :; do
		queued=0
		for key in $(redis-cli -p "$port" --scan --pattern 'rq:queue:*'); do
			queued=$((queued + $(redis-cli -p "$port" llen "$key")))
		done
		[ "$queued" = 0 ] && return 0
		if [ "$waited" -ge "$1" ]; then
			log "$queued jobs still queued after $1 s: measuring anyway"
			return 0
		fi
		sleep 2
		waited=$((waited + 2))
	done
}

flush_job_queue() {
	local port
	port=$(awk '/^port/ {print $2}' "$BENCH_DIR/config/redis_queue.conf")
	redis-cli -p "$port" flushdb >/dev/null
}

# The bench's processes: web server, socket.io server, scheduler and a worker, under honcho, as
# `bench start` runs them (DEV_SERVER tells the desk to reach socket.io on its own port).
SERVICES_PROCFILE=Procfile.pipeline
SERVICES_PIDFILE=$BENCH_DIR/config/pids/pipeline-services.pid
WEB_PORT=${WEB_PORT:-8000}

# write_procfile SITE: the web server serves SITE whatever the Host header (otherwise `bench serve`
# would serve the bench's default site, the one `bench use` chose, to every host name).
write_procfile() {
	local site=$1
	as_bench bash -c "cat > $SERVICES_PROCFILE" <<PROC
web: env DEV_SERVER=1 bench --site $site serve --port $WEB_PORT --noreload
socketio: node apps/frappe/socketio.js
schedule: bench schedule
worker: bench worker
PROC
}

# kill_bench_processes PATTERN: the bench user's processes matching PATTERN that run in this bench
# (other benches of the same user, and their services, are left alone)
kill_bench_processes() {
	local pid cwd
	for pid in $(pgrep -u "$BENCH_USER" -f "$1" || true); do
		cwd=$(as_root readlink "/proc/$pid/cwd" 2>/dev/null || true)
		case "$cwd" in "$BENCH_DIR" | "$BENCH_DIR"/*) as_root kill -TERM "$pid" 2>/dev/null || true ;; esac
	done
}

stop_services() {
	if [ -f "$SERVICES_PIDFILE" ]; then
		# the pidfile holds the process group of honcho and everything it started
		local group
		group=$(cat "$SERVICES_PIDFILE")
		as_root kill -TERM -- "-$group" 2>/dev/null || true
		for _ in $(seq 20); do as_root kill -0 -- "-$group" 2>/dev/null || break; sleep 0.5; done
		as_root kill -KILL -- "-$group" 2>/dev/null || true
		as_root rm -f "$SERVICES_PIDFILE"
	fi
	# strays of an earlier run (or of an interrupted one) would keep serving old code on our ports
	kill_bench_processes "frappe (--site [^ ]+ )?serve --port $WEB_PORT( |$)"
	kill_bench_processes "node apps/frappe/socketio.js"
	kill_bench_processes "bench_helper frappe (schedule|worker)"
	for _ in $(seq 20); do
		(exec 3<>"/dev/tcp/127.0.0.1/$WEB_PORT") 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/9000) 2>/dev/null || break
		sleep 0.5
	done
}

# start_services SITE: starts the services in the background and waits until the web and socket.io
# servers answer.
start_services() {
	stop_services
	write_procfile "$1"
	as_bench mkdir -p config/pids logs
	# a job of a dropped site (an interrupted scratch-site test) would crash the worker, and honcho
	# would then stop everything
	local forgotten
	forgotten=$(as_bench ./env/bin/python -m pipeline_app.tests.scratch sites 2>/dev/null || true)
	[ -z "$forgotten" ] || log "Forgot the queued jobs of dropped sites: $forgotten"
	log "Starting web, socket.io, scheduler and worker (logs: $BENCH_DIR/logs/pipeline-services.log)"
	as_bench setsid bash -c "echo \$\$ > $SERVICES_PIDFILE; exec honcho -f $SERVICES_PROCFILE start > logs/pipeline-services.log 2>&1" </dev/null >/dev/null 2>&1 &
	for _ in $(seq 90); do
		# any HTTP answer means the web server is up (127.0.0.1 may name no site)
		if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WEB_PORT/api/method/ping")" != 000 ] \
			&& (exec 3<>/dev/tcp/127.0.0.1/9000) 2>/dev/null; then
			return 0
		fi
		sleep 1
	done
	tail -50 "$BENCH_DIR/logs/pipeline-services.log" >&2
	log "The bench's services did not start; stopping what was started"
	stop_services
	return 1
}
