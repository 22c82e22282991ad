# Helpers that reach the stack's servers directly (sourced by integration tests).
ADMIN=$SECKILL_BUILDDIR/jobs/seckill-admin
rcli() { redis-cli -p "$SECKILL_REDIS_PORT" "$@"; }
sql() { mariadb -S "$SECKILL_RUN_DIR/mysql.sock" -uroot -N -B seckill -e "$1"; }
rmqctl() {
	HOME=$SECKILL_RUN_DIR/rabbitmq/home RABBITMQ_CTL_ERL_ARGS="-dist_listen false" \
		/usr/lib/rabbitmq/bin/rabbitmqctl -q \
		-n "sk${SECKILL_AMQP_PORT}@localhost" "$@"
}
# queue_depth NAME: messages ready in a queue
queue_depth() { rmqctl list_queues name messages | awk -v q="$1" '$1 == q { print $2 }'; }
stack_sh() { bash "$SECKILL_SRCDIR/conf/stack.sh" "$@"; }
# fcgi_conf KEY: the effective value of a configuration key for the pool
fcgi_conf() { "$SECKILL_BUILDDIR/fcgi-app/seckill-fcgi" --dump-config | sed -n "s/^$1 = //p"; }
# job_stop NAME: stops a supervised job (its supervisor, by pid file) and waits until it is gone
job_stop() {
	local pidf=$SECKILL_RUN_DIR/pid/$1.pid pid i
	pid=$(cat "$pidf" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$pidf"
}
# jobs_restart [VAR=VALUE...]: the three jobs again, with these settings
jobs_restart() {
	local j
	for j in seckill-consumer seckill-retry seckill-timeout seckill-heal; do job_stop "$j"; done
	env "$@" bash "$SECKILL_SRCDIR/conf/stack.sh" start >>"$SECKILL_RUN_DIR/jobs-restart.log" 2>&1
}
# job_child NAME: the pid of the job's program under its supervisor
job_child() { pgrep -P "$(cat "$SECKILL_RUN_DIR/pid/$1.pid")" | head -1; }
# wait_for SECONDS 'CONDITION': polls until the shell condition (evaluated anew each time, so
# quote it) holds; 1 on time-out
wait_for() {
	local end=$((SECONDS + $1)); shift
	while ! eval "$*"; do [ $SECONDS -ge "$end" ] && return 1; sleep 0.2; done
}
