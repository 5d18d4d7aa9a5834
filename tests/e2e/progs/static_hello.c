/* static_hello.c: built with -static; the launcher runs it under its
 * supervisor (and refuses it with --backend preload). */
#include <stdio.h>

int main(void)
{
	puts("static program ran");
	return 0;
}
