# exec_class32.s: a 32-bit x86 program with a PT_INTERP header, for the
# exec tests (as --32, then ld -m elf_i386 -pie with the 32-bit loader).
# It only exits: socksify must refuse it for its ELF class before it runs,
# and binutils alone can build it, with no 32-bit C library installed.
	.globl _start
_start:
	movl $1, %eax		# exit(0) through the 32-bit system call gate
	xorl %ebx, %ebx
	int $0x80
