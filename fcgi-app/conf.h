/* Configuration: conf/seckill.conf (`section.key = value`) overridden by SECKILL_<SECTION>_<KEY>. */
#ifndef SK_CONF_H
#define SK_CONF_H
#include <stdio.h>

struct conf {
	char *app_public_url;
	char *app_templates;
	char *app_run_dir;
	long http_port;
	long http_max_body;
	long fcgi_workers;
	char *log_level;
	char *redis_host;
	long redis_port;
	long redis_connect_timeout_ms;
	long redis_timeout_ms;
	char *mysql_host;
	long mysql_port;
	char *mysql_user;
	char *mysql_password;
	char *mysql_database;
	long mysql_connect_timeout;
	long mysql_timeout;
	char *amqp_host;
	long amqp_port;
	char *amqp_user;
	char *amqp_password;
	char *amqp_vhost;
	long amqp_connect_timeout_ms;
	long amqp_timeout_ms;
	long backend_retry_ms;
	char *captcha_font;
	long session_web_ttl;
	long session_mobile_ttl;
	int seckill_captcha;
	int seckill_hidden_path;
	long seckill_captcha_ttl;
	long seckill_path_ttl;
	long seckill_attempt_ms;
	int ratelimit_enabled;
	long ratelimit_api_rate;
	long ratelimit_api_burst;
	long ratelimit_total_rate;
	long ratelimit_login_per_ip;
	long ratelimit_login_per_user;
	long ratelimit_register_per_ip;
	long ratelimit_captcha_per_ip;
	long ratelimit_buy_per_user;
	long order_pay_timeout;
	long qr_ttl;
	long qr_interval;
	long outbox_max_send;
	long outbox_grace;
	long outbox_retry_interval;
	long order_sweep_interval;
	long consumer_prefetch;
	long consumer_batch;
	long consumer_batch_ms;
	long heal_grace;
	long heal_interval;
};

/* The configuration in force in this process. */
extern struct conf conf;

/*
 * Sets the defaults, reads path (NULL: defaults only; a missing file is an error) and applies the
 * environment. On error returns -1 with a message naming the file, line or variable and the key.
 */
int conf_load(struct conf *c, const char *path, char *err, size_t errlen);
/* Reads the file named by $SECKILL_CONF, else the installed default if it exists. */
int conf_load_default(struct conf *c, char *err, size_t errlen);
void conf_dump(const struct conf *c, FILE *out);
void conf_free(struct conf *c);

#endif
