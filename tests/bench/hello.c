/*
 * The benchmark's floor: the least a libfcgi worker can do (accept, answer a constant, finish),
 * behind the same nginx as the application.
 */
#include <signal.h>
#include <string.h>

#include <fcgiapp.h>

static void
hello_stop(int sig)
{
	(void)sig;
	FCGX_ShutdownPending();
}

int
main(void)
{
	static const char answer[] = "Status: 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 20\r\n\r\n{\"status\":\"hello\"}\n\n";
	struct sigaction sa;
	FCGX_Request r;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = hello_stop;
	sigaction(SIGTERM, &sa, NULL);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) >= 0) {
		FCGX_PutStr(answer, (int)sizeof answer - 1, r.out);
		FCGX_Finish_r(&r);
	}
	return 0;
}
