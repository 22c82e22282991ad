# Helpers that reach the stack's servers directly (sourced by integration tests).
ADMIN=$SECKILL_BUILDDIR/jobs/seckill-admin
rcli() { redis-cli -p "$SECKILL_REDIS_PORT" "$@"; }
sql() { mariadb -S "$SECKILL_RUN_DIR/mysql.sock" -uroot -N -B seckill -e "$1"; }
rmqctl() {
	HOME=$SECKILL_RUN_DIR/rabbitmq/home /usr/lib/rabbitmq/bin/rabbitmqctl -q \
		-n "sk${SECKILL_AMQP_PORT}@localhost" "$@"
}
# queue_depth NAME: messages ready in a queue
queue_depth() { rmqctl list_queues name messages | awk -v q="$1" '$1 == q { print $2 }'; }
stack_sh() { bash "$SECKILL_SRCDIR/conf/stack.sh" "$@"; }
# fcgi_conf KEY: the effective value of a configuration key for the pool
fcgi_conf() { "$SECKILL_BUILDDIR/fcgi-app/seckill-fcgi" --dump-config | sed -n "s/^$1 = //p"; }
