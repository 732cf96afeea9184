/*
 * hearth-init's entry, clone and signal return, for x86_64 and aarch64: what a libc's start-up
 * files would give it, without glibc's static start-up (CPU feature probing with cpuid, ~0.3 ms
 * per sandbox on a VM, where each cpuid traps to the hypervisor).
 */
#if defined(__x86_64__)
    .text

    /* The kernel leaves argc at (%rsp), argv and envp after it. */
    .globl _start
    .type _start, @function
_start:
    xor %ebp, %ebp
    mov %rsp, %rdi
    and $-16, %rsp
    call hearth_rt_start
    hlt

    /* int clone(int (*fn)(void *), void *stack, int flags, void *arg, pid_t *ptid, void *tls, pid_t *ctid) */
    .globl clone
    .type clone, @function
clone:
    and $-16, %rsi          /* child's stack: arg and fn stored on it */
    sub $16, %rsi
    mov %rcx, 8(%rsi)
    mov %rdi, (%rsi)
    mov %edx, %edi          /* flags */
    mov %r8, %rdx           /* ptid */
    mov 8(%rsp), %r10       /* ctid */
    mov %r9, %r8            /* tls */
    mov $56, %eax
    syscall
    test %rax, %rax
    jz 1f
    js 2f
    ret
1:  xor %ebp, %ebp          /* child */
    pop %rax
    pop %rdi
    call *%rax
    mov %eax, %edi
    mov $60, %eax
    syscall
    hlt
2:  neg %eax
    mov %eax, %edi
    jmp hearth_rt_fail

    /* long hearth_rt_raw(long n, long a, long b, long c, long d, long e, long f): the raw result. */
    .globl hearth_rt_raw
    .type hearth_rt_raw, @function
hearth_rt_raw:
    mov %rdi, %rax
    mov %rsi, %rdi
    mov %rdx, %rsi
    mov %rcx, %rdx
    mov %r8, %r10
    mov %r9, %r8
    mov 8(%rsp), %r9
    syscall
    ret

    /* Where a handled signal returns to: rt_sigreturn. */
    .globl hearth_rt_restore
    .type hearth_rt_restore, @function
hearth_rt_restore:
    mov $15, %eax
    syscall
    hlt

#elif defined(__aarch64__)
    .text

    .globl _start
    .type _start, %function
_start:
    mov x29, #0
    mov x30, #0
    mov x0, sp
    and sp, x0, #-16
    bl hearth_rt_start
    brk #0

    .globl clone
    .type clone, %function
clone:
    and x1, x1, #-16        /* child's stack: fn and arg stored on it */
    stp x0, x3, [x1, #-16]!
    mov x8, #220            /* clone(flags, stack, ptid, tls, ctid) */
    mov x0, x2
    mov x2, x4
    mov x3, x5
    mov x4, x6
    svc #0
    cbz x0, 1f
    tbnz x0, #63, 2f
    ret
1:  ldp x1, x0, [sp], #16   /* child */
    blr x1
    mov x8, #93
    svc #0
    brk #0
2:  neg w0, w0
    b hearth_rt_fail

    .globl hearth_rt_raw
    .type hearth_rt_raw, %function
hearth_rt_raw:
    mov x8, x0
    mov x0, x1
    mov x1, x2
    mov x2, x3
    mov x3, x4
    mov x4, x5
    mov x5, x6
    svc #0
    ret

    .globl hearth_rt_restore
    .type hearth_rt_restore, %function
hearth_rt_restore:
    mov x8, #139
    svc #0
    brk #0
#else
#error "hearth-init's runtime supports x86_64 and aarch64"
#endif

    .section .note.GNU-stack,"",%progbits
