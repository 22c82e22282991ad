/* The route table: every URL the application answers, its handler and preconditions. */
#include "app.h"
#include "pages.h"
#include "req.h"
#include "router.h"

static const struct route routes[] = {
	/* methods	pattern					handler			flags */
	{ REQ_GET,	"/",					page_home,		0,
	    "/" },
	{ REQ_GET,	"/activity/:id",			page_activity,		0,
	    "/activity/:id" },
	{ REQ_GET,	"/orders",				page_orders,		R_AUTH,
	    "/orders" },
	{ REQ_GET,	"/orders/:id",				page_order,		R_AUTH,
	    "/orders/:id" },
	{ REQ_GET,	"/login",				page_login,		0,
	    "/login" },
	{ REQ_GET,	"/register",				page_register,		0,
	    "/register" },
	{ REQ_GET,	"/captcha/:id.png",			page_captcha_png,	R_API,
	    "/captcha/:id.png" },
	{ REQ_POST,	"/api/register",			api_register,		0,
	    "/api/register" },
	{ REQ_POST,	"/api/login",				api_login,		0,
	    "/api/login" },
	{ REQ_POST,	"/api/logout",				api_logout,		R_AUTH | R_CSRF,
	    "/api/logout" },
	{ REQ_GET,	"/api/me",				api_me,			R_AUTH,
	    "/api/me" },
	{ REQ_POST,	"/api/mobile/login",			api_mobile_login,	0,
	    "/api/mobile/login" },
	{ REQ_GET,	"/api/activities",			api_activities,		0,
	    "/api/activities" },
	{ REQ_GET,	"/api/activities/:id",			api_activity,		0,
	    "/api/activities/:id" },
	{ REQ_POST,	"/api/captcha",				api_captcha,		0,
	    "/api/captcha" },
	{ REQ_POST,	"/api/activities/:id/path",		api_path,		R_AUTH | R_CSRF,
	    "/api/activities/:id/path" },
	{ REQ_POST,	"/api/activities/:id/seckill/:path",	api_seckill,		R_AUTH | R_CSRF,
	    "/api/activities/:id/seckill/:path" },
	{ REQ_GET,	"/api/activities/:id/result",		api_result,		R_AUTH,
	    "/api/activities/:id/result" },
	{ REQ_GET,	"/api/orders",				api_orders,		R_AUTH,
	    "/api/orders" },
	{ REQ_GET,	"/api/orders/:id",			api_order,		R_AUTH,
	    "/api/orders/:id" },
	{ REQ_POST,	"/api/orders/:id/pay",			api_order_pay,		R_AUTH | R_CSRF,
	    "/api/orders/:id/pay" },
	{ REQ_GET,	"/healthz",				page_healthz,		R_API,
	    "/healthz" },
	{ REQ_GET,	"/metrics",				page_metrics,		R_API,
	    "/metrics" },
};

const struct route *const app_routes = routes;
const int app_nroutes = (int)(sizeof routes / sizeof routes[0]);
