# Shared by the test runners (run-integration.sh, run-browser.sh): free loopback ports for a
# private stack, and the environment its tests run it with.
# pick_ports [AVOID]: prints a base B with B..B+3 (HTTP, Redis, MariaDB, AMQP) and B+10003 (AMQP's
# distribution port) all free, other than AVOID (a previous stack's base, whose RabbitMQ node
# name is made from it); fails after 50 tries.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_ports() {
	local base tries=0
	while [ $tries -lt 50 ]; do
		base=$((21000 + (RANDOM % 900) * 10))
		if [ "$base" != "${1:-}" ] && port_free $base && port_free $((base + 1)) &&
			port_free $((base + 2)) && port_free $((base + 3)) && port_free $((base + 10003)); then
			echo $base
			return 0
		fi
		tries=$((tries + 1))
	done
	return 1
}

# runner_env: the configuration the tests' stack runs with. One client (127.0.0.1) plays every
# user, so the per-IP limits are raised: only the tests about limits meet them (they lower them
# again for themselves).
runner_env() {
	export SECKILL_CONF=$SRCDIR/conf/seckill.conf SECKILL_APP_TEMPLATES=$SRCDIR/templates
	export SECKILL_RATELIMIT_API_RATE=200 SECKILL_RATELIMIT_API_BURST=200
	export SECKILL_RATELIMIT_CAPTCHA_PER_IP=100000 SECKILL_RATELIMIT_LOGIN_PER_IP=1000
	export SECKILL_RATELIMIT_REGISTER_PER_IP=1000
	export SECKILL_SEED=1
}
