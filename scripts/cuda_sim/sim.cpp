/* sim.cpp - the fiber scheduler behind cuda_runtime.h (simulation): sim_run executes a kernel body for every
 * thread of every block of a grid, switching fibers at each sim_yield (a barrier). */
#include "cuda_runtime.h"
#include <vector>
dim3 threadIdx, blockIdx, blockDim, gridDim;
float sim_lanes[1024];
static ucontext_t sched;
static std::vector<ucontext_t> fib;
static std::vector<int> done;
static int cur;
static const std::function<void()> *cur_body;
static std::vector<char> stacks;
enum { STACK = 256 * 1024 };
void sim_yield() { swapcontext(&fib[cur], &sched); }
static void entry(int i) { (*cur_body)(); done[i] = 1; }
void sim_run(dim3 g, dim3 b, const std::function<void()> &body) {
    int nt = b.x * b.y * b.z;
    if (nt > 1024) { fprintf(stderr, "sim: block too big\n"); abort(); }
    gridDim = g, blockDim = b, cur_body = &body;
    fib.resize(nt); done.resize(nt); stacks.resize((size_t)nt * STACK);
    for (unsigned by = 0; by < g.y; by++)
        for (unsigned bx = 0; bx < g.x; bx++) {
            blockIdx = dim3(bx, by, 0);
            for (int i = 0; i < nt; i++) {
                done[i] = 0;
                getcontext(&fib[i]);
                fib[i].uc_stack.ss_sp = &stacks[(size_t)i * STACK];
                fib[i].uc_stack.ss_size = STACK;
                fib[i].uc_link = &sched;
                makecontext(&fib[i], (void (*)())entry, 1, i);
            }
            for (;;) {
                int live = 0;
                for (int i = 0; i < nt; i++) {
                    if (done[i]) continue;
                    cur = i;
                    threadIdx = dim3(i % b.x, i / b.x, 0);
                    swapcontext(&sched, &fib[i]);
                    live += !done[i];
                }
                if (!live) break;
            }
        }
}
