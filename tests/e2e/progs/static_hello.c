/* static_hello.c: built with -static; the launcher must refuse to run it. */
#include <stdio.h>

int main(void)
{
	puts("static program ran");
	return 0;
}
