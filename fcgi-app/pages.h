/* The handlers, one file per area (page_<area>.c). Each returns the HTTP status. */
#ifndef SK_PAGES_H
#define SK_PAGES_H

struct req;
struct resp;

/* page_account.c */
int api_register(struct req *req, struct resp *resp);
int api_login(struct req *req, struct resp *resp);
int api_logout(struct req *req, struct resp *resp);
int api_me(struct req *req, struct resp *resp);
int api_mobile_login(struct req *req, struct resp *resp);
int page_login(struct req *req, struct resp *resp);
int page_register(struct req *req, struct resp *resp);
/* page_qr.c */
int api_qr_new(struct req *req, struct resp *resp);
int page_qr_png(struct req *req, struct resp *resp);
int api_qr_status(struct req *req, struct resp *resp);
int api_qr_scan(struct req *req, struct resp *resp);
int api_qr_confirm(struct req *req, struct resp *resp);
int api_qr_deny(struct req *req, struct resp *resp);
int page_qr_phone(struct req *req, struct resp *resp);
/* page_seckill.c */
int api_captcha(struct req *req, struct resp *resp);
int page_captcha_png(struct req *req, struct resp *resp);
int api_path(struct req *req, struct resp *resp);
int api_seckill(struct req *req, struct resp *resp);
int api_result(struct req *req, struct resp *resp);
int page_activity(struct req *req, struct resp *resp);
/* page_activity.c */
int api_activities(struct req *req, struct resp *resp);
int api_activity(struct req *req, struct resp *resp);
/* page_orders.c */
int api_orders(struct req *req, struct resp *resp);
int api_order(struct req *req, struct resp *resp);
int api_order_pay(struct req *req, struct resp *resp);
int page_orders(struct req *req, struct resp *resp);
int page_order(struct req *req, struct resp *resp);
/* page_home.c */
int page_home(struct req *req, struct resp *resp);
/* page_admin.c */
int page_admin(struct req *req, struct resp *resp);
int page_admin_chart(struct req *req, struct resp *resp);
int api_admin_stats(struct req *req, struct resp *resp);
/* page_ops.c */
int page_healthz(struct req *req, struct resp *resp);
int page_metrics(struct req *req, struct resp *resp);

#endif
