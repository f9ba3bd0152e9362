#!/usr/bin/env python3
"""Writes src/Runtime/Kernels/Gemm/MicroKernels/*.cs: fully unrolled register-tiled GEMM micro-kernels.

The JIT does not unroll loops or keep arrays of vectors in registers, so each tile shape is spelled out.
Run from the repository root: python3 bench/tools/gen_microkernels.py
"""
import sys

def packed(indent, statements):
    """The statements on as few lines of at most 120 characters as they fit, in order."""
    lines, line = [], ""
    for st in statements:
        if line and len(indent + line + " " + st) > 120:
            lines.append(indent + line)
            line = ""
        line = st if not line else line + " " + st
    return lines + [indent + line]

def kernel(name, vec, width, mr, nv, unroll, sa=None, sb=None, epi=False, sgd=False, hint=False, skip=False):
    """sa, sb: the packed panels' strides per k step (default mr, nr); an edge kernel reads the first mr rows of
    a wider A panel or the first nr columns of a wider B panel. epi: the kernel also takes a bias row (or null) and
    a relu flag and applies them in registers before the one store of each vector (the GEMM's fused epilogue).
    sgd: the tile is a weight gradient g in panel layout (row stride nr) that is never stored; the kernel applies an SGD
    update to the weight tile instead (see the kernel's summary). hint: the kernel prefetches the rows of the next B
    micro-panel it is given (every tile kernel takes the hint's two arguments; the others ignore them). skip: an epi
    kernel over the kept k steps of a compacted A panel (GemmZeroColumns): step t reads B's row index[t], not row t."""
    nr = width * nv
    sa = sa or mr
    sb = sb or nr
    L = []
    panels = "" if (sa, sb) == (mr, nr) else f" Panels packed {sa} rows × {sb} columns wide (an edge tile of the {sa}×{sb} kernel)."
    if sgd:
        L.append(f"    /// <summary>{mr}×{nr} tile of a weight gradient g = Σ_p A[:,p]·B[p,:] with {vec}, never stored: with a")
        L.append(f"    /// momentum tile <paramref name=\"m\"/>, m' = μ·m + g and w' = w − lr·m'; without (null), w' = w − lr·g. The")
        L.append(f"    /// four tiles are in panel layout (row stride {nr}); the same operations in the same order as the update's")
        L.append(f"    /// streaming pass (bit-identical). Adds x − x of every result to the 16 floats at <paramref name=\"check\"/>")
        L.append(f"    /// (NaN there when one is not finite), and prefetches the tile the driver updates next,")
        L.append(f"    /// <paramref name=\"ahead\"/> floats on in each array (0: this one), while this one is computed.</summary>")
    elif skip:
        L.append(f"    /// <summary>{mr}×{nr} tile with {vec} over the <paramref name=\"kept\"/> k steps of a compacted A panel")
        L.append(f"    /// (<see cref=\"GemmZeroColumns\"/>): C = act(alpha·Σ_t A[:,t]·B[index[t],:] + beta·C + bias), step t reading")
        L.append(f"    /// row <c>index[t]</c> of the B panel; otherwise as <see cref=\"Avx512_14x32_Epi\"/>, the same operations in")
        L.append(f"    /// the same order on the steps it keeps.</summary>")
    elif epi:
        L.append(f"    /// <summary>{mr}×{nr} tile with {vec}: C[0..{mr},0..{nr}] = act(alpha·Σ_p A[:,p]·B[p,:] + beta·C + bias)")
        L.append(f"    /// with the {nr} bias values at <paramref name=\"bias\"/> (or none when null) and act = relu when")
        L.append(f"    /// <paramref name=\"relu\"/>, else none: the epilogue in registers, the same operations in the same order as")
        L.append(f"    /// <see cref=\"Epilogue.Apply\"/> on the stored tile.</summary>")
    else:
        L.append(f"    /// <summary>{mr}×{nr} tile with {vec}: C[0..{mr},0..{nr}] = alpha·Σ_p A[:,p]·B[p,:] + beta·C")
        L.append(f"    /// (beta = 0 never reads C).{panels}</summary>")
    if hint:
        L.append(f"    /// <remarks>Prefetches rows [0, <paramref name=\"nextRows\"/>) of the B micro-panel at")
        L.append(f"    /// <paramref name=\"next\"/> ({nr} floats a row), one row in each of the first k steps: the driver's share of")
        L.append(f"    /// the panel the next tiles read (see GemmDriver).</remarks>")
    elif not sgd and not skip:
        L.append(f"    /// <remarks>Ignores the prefetch hint (<paramref name=\"next\"/>, <paramref name=\"nextRows\"/>).</remarks>")
    L.append(f"    [MethodImpl(MethodImplOptions.AggressiveOptimization)]")
    extra = ", float* bias, bool relu" if epi else ""
    if skip:
        L.append(f"    internal static void {name}(int kept, int* index, float* pa, float* pb, float* c, nint ldc, float alpha,")
        L.append(f"        float beta, float* bias, bool relu)")
    elif sgd:
        L.append(f"    internal static void {name}(int kc, float* pa, float* pb, float* m, float* w, float* mOut, float* wOut,")
        L.append(f"        float mu, float lr, float* check, nint ahead)")
    else:
        L.append(f"    internal static void {name}(int kc, float* pa, float* pb, float* c, nint ldc, float alpha, float beta,")
        L.append(f"        {extra[2:]}{', ' if extra else ''}float* next, int nextRows)")
    L.append("    {")
    for i in range(mr):
        L.append("        " + " ".join(f"{vec}<float> c{i}{j} = default;" for j in range(nv)))
    # Prefetch the C tile now, so its rows (each in a different page when ldc is large) arrive during the k loop
    # instead of stalling the final loads/stores; the last float of each row catches a row that spans one more line.
    if not sgd:
        L.append("        if (Sse.IsSupported)")
        L.append("        {")
        for i in range(mr):
            offs = sorted(set(list(range(0, nr, 16)) + [nr - 1]))
            L.append("            " + " ".join(f"Sse.Prefetch0(c + {i} * ldc + {o});" for o in offs))
        L.append("        }")
    L.append("        int p = 0;")
    def step(off_a, off_b):
        S = []
        for j in range(nv):
            S.append(f"            var b{j} = {vec}.Load(pb + {off_b + j*width});")
        for i in range(mr):
            S.append(f"            var a{i} = {vec}.Create(pa[{off_a + i}]);")
            for j in range(nv):
                S.append(f"            c{i}{j} = {vec}.FusedMultiplyAdd(a{i}, b{j}, c{i}{j});")
        return S
    def prefetching_steps(count, addresses):
        # The first min(kc, count) k steps, each also prefetching the given addresses (which depend on p) into L1.
        L.append(f"        for (int pre = Math.Min(kc, {count}); p < pre; p++)")
        L.append("        {")
        calls = [f"Sse.Prefetch0({a});" for a in addresses]
        one = "            if (Sse.IsSupported) { " + " ".join(calls) + " }"
        if len(one) <= 120:
            L.append(one)
        else:
            L.append("            if (Sse.IsSupported)")
            L.append("            {")
            L.extend(packed("                ", calls))
            L.append("            }")
        L.extend(step(0, 0))
        L.append(f"            pa += {sa}; pb += {sb};")
        L.append("        }")
    if sgd:
        # The tile the driver updates next (its rows are mr·nr consecutive floats in each of w, m, w' and m'; the tile's
        # own when there is no next), one line of each array per k step of the first steps. Without this the update's
        # loads wait on memory at the end of every tile; spread over the k loop rather than issued together at the start,
        # it costs the loop nothing (in-place momentum update, 1024×1024×256: 2980 → 2877 µs warm, 2963 → 2811 µs from
        # memory; 784×256×64: 159 → 150 µs warm). The engine writes w' and m' into arrays of their own (a failed step
        # leaves the weights as they were), last touched a step before: prefetching their lines too, so that the
        # read-for-ownership of each line is not waited for at the store, took the deep network's step (784-1024-1024-
        # 1024-10, batch 256) 23.24 → 22.67 and 22.52 → 21.91 ms (min of 18, interleaved), the 784-256-10 MLP unchanged.
        L.append("        float* qw = w + ahead, qm = m == null ? qw : m + ahead,")
        L.append("            ow = wOut + ahead, om = mOut == null ? ow : mOut + ahead;")
        prefetching_steps(mr * nr // 16, [f"{q} + p * 16" for q in ("qw", "qm", "ow", "om")])
    if hint:
        # A B panel read in place from a weight too big for L2 streams from L3 or memory while the first row tile uses
        # it; spread over the tiles before, its rows arrive on time (see GemmDriver.NextPanelShare for the measurements).
        prefetching_steps("nextRows", [f"next + p * {nr} + {o}" for o in range(0, nr, 16)])
    if skip:
        # One B row a step, gathered; the packed A panel is read in order as the dense kernel reads it.
        L.append("        for (; p < kept; p++)")
        L.append("        {")
        L.append(f"            float* pr = pb + (nint)index[p] * {sb};")
        L.extend(s.replace("pb +", "pr +") for s in step(0, 0))
        L.append(f"            pa += {sa};")
        L.append("        }")
    else:
        L.append(f"        for (; p + {unroll} <= kc; p += {unroll})")
        L.append("        {")
        for u in range(unroll):
            L.append("            {")
            L.extend(["    " + s for s in step(u*sa, u*sb)])
            L.append("            }")
        L.append(f"            pa += {sa*unroll}; pb += {sb*unroll};")
        L.append("        }")
        L.append("        for (; p < kc; p++)")
        L.append("        {")
        L.extend(step(0, 0))
        L.append(f"            pa += {sa}; pb += {sb};")
        L.append("        }")
    if sgd:
        L.append(f"        var vlr = {vec}.Create(lr);")
        L.append(f"        var ck = {vec}.Load(check);")
        L.append("        if (m == null)")
        L.append("        {")
        for i in range(mr):
            for j in range(nv):
                o = i * nr + j * width
                L.append(f"            {{ var nw = {vec}.Load(w + {o}) - vlr * c{i}{j}; {vec}.Store(nw, wOut + {o}); ck += nw - nw; }}")
        L.append("        }")
        L.append("        else")
        L.append("        {")
        L.append(f"            var vmu = {vec}.Create(mu);")
        for i in range(mr):
            for j in range(nv):
                o = i * nr + j * width
                L.append("            {")
                L.append(f"                var nm = vmu * {vec}.Load(m + {o}) + c{i}{j}; {vec}.Store(nm, mOut + {o});")
                L.append(f"                var nw = {vec}.Load(w + {o}) - vlr * nm; {vec}.Store(nw, wOut + {o});")
                L.append("                ck += (nm - nm) + (nw - nw);")
                L.append("            }")
        L.append("        }")
        L.append(f"        {vec}.Store(ck, check);")
        L.append("    }")
        return "\n".join(L)
    L.append(f"        var va = {vec}.Create(alpha);")
    if epi:
        # Scale (and accumulate) in place, then add the bias and apply relu, each as one branch over the whole tile.
        L.append("        if (beta == 0f)")
        L.append("        {")
        for i in range(mr):
            L.append("            " + " ".join(f"c{i}{j} = va * c{i}{j};" for j in range(nv)))
        L.append("        }")
        L.append("        else")
        L.append("        {")
        L.append(f"            var vb = {vec}.Create(beta);")
        for i in range(mr):
            for j in range(nv):
                L.append(f"            c{i}{j} = {vec}.FusedMultiplyAdd(va, c{i}{j}, vb * {vec}.Load(c + {i} * ldc + {j*width}));")
        L.append("        }")
        L.append("        if (bias != null)")
        L.append("        {")
        for j in range(nv):
            L.append(f"            var bias{j} = {vec}.Load(bias + {j*width});")
        for i in range(mr):
            L.append("            " + " ".join(f"c{i}{j} += bias{j};" for j in range(nv)))
        L.append("        }")
        L.append("        if (relu)")
        L.append("        {")
        for i in range(mr):
            L.append("            " + " ".join(f"c{i}{j} = {vec}.Max(c{i}{j}, {vec}<float>.Zero);" for j in range(nv)))
        L.append("        }")
        for i in range(mr):
            for j in range(nv):
                L.append(f"        {vec}.Store(c{i}{j}, c + {i} * ldc + {j*width});")
        L.append("    }")
        return "\n".join(L)
    L.append("        if (beta == 0f)")
    L.append("        {")
    for i in range(mr):
        for j in range(nv):
            L.append(f"            {vec}.Store(va * c{i}{j}, c + {i} * ldc + {j*width});")
    L.append("        }")
    L.append("        else")
    L.append("        {")
    L.append(f"            var vb = {vec}.Create(beta);")
    for i in range(mr):
        for j in range(nv):
            L.append(f"            {vec}.Store({vec}.FusedMultiplyAdd(va, c{i}{j}, vb * {vec}.Load(c + {i} * ldc + {j*width})),")
            L.append(f"                c + {i} * ldc + {j*width});")
    L.append("        }")
    L.append("    }")
    return "\n".join(L)

# Measured on Zen 5 (bench/, 1 thread, % of the measured FMA peak at 512³ / 1024³):
#   14x32 89% / 79%, 12x32 83% / 49%, 8x32 87% / 78%, 6x32 ~100% / 86% (noisy run), 4x64 74% / 98% (noisy run).
# 14x32 (28 accumulators + 2 B vectors of the 32 zmm registers) was kept as the best sustained;
# 24x16 (one zmm per row) serves products at most 16 columns wide (a convolution's few output channels);
# add a row here and to MicroKernel.Select to try another shape.
kernels = [
    ("Avx512_14x32", "Vector512", 16, 14, 2, 1, None, None, False, False, True),
    ("Avx512_24x16", "Vector512", 16, 24, 1, 2),
    ("Avx2_6x16", "Vector256", 8, 6, 2, 2),
]
# Edge tiles of the 14×32 kernel, reading its packed panels (A stride 14, B stride 32): r×32 for the last r < 14
# rows of a product (batch 256 = 18·14 + 4) and r×16 for a last panel at most 16 columns wide (n = 784 = 24·32 + 16),
# so an edge tile costs its own rows and columns instead of a whole 14×32 tile. Measured (kc = 512, 1 thread,
# thread CPU time): a 1..4-row edge kernel takes ~0.6 µs against ~3 µs for the full tile, bound by streaming the
# B panel from L2, not by the FMA latency of its few accumulators: split accumulator sets (2–4 per vector,
# summed at the end) measured no faster (1x32 1.004, 2x32 1.018, 2x16 1.000 of the time) and were dropped.
# The main tile with the bias and relu epilogue in registers: per-row calls of the generic epilogue on each stored
# tile measured 3% of a 256×1024×1024 forward product (2697 against 2776 µs); tanh and sigmoid keep that path.
kernels += [("Avx512_14x32_Epi", "Vector512", 16, 14, 2, 1, None, None, True, False, True)]
# The main tile of a weight gradient with the SGD update in registers (the gradient never reaches memory): see
# GemmUpdate. Measured against the product followed by the update's streaming pass (1 thread, median of 7):
# 784×256×64 with momentum 201 → 172 µs in cache and 244 → 198 µs from memory, 1024×1024×256 3410 → 3212 µs from memory.
# The main tile of a forward product whose A panel is compacted to the k steps where one of its 14 rows is nonzero
# (GemmZeroColumns: nn predict's products, weights known finite), with the same epilogue in registers.
kernels += [("Avx512_14x32_Skip", "Vector512", 16, 14, 2, 1, None, None, True, False, False, True)]
kernels += [("Avx512_14x32_Sgd", "Vector512", 16, 14, 2, 1, None, None, False, True)]
kernels += [(f"Avx512_{r}x32_Edge", "Vector512", 16, r, 2, 1, 14, 32) for r in range(1, 14)]
kernels += [(f"Avx512_{r}x16_Edge", "Vector512", 16, r, 1, 1, 14, 32) for r in range(1, 15)]
# One file per kernel under src/Runtime/Kernels/Gemm/MicroKernels/, each a part of one partial class, named after
# the kernel (the unrolled bodies are long; one tile a file keeps each readable).
families = [(k[0], k) for k in kernels]
import os, glob
folder = "src/Runtime/Kernels/Gemm/MicroKernels"
os.makedirs(folder, exist_ok=True)
for old in glob.glob(f"{folder}/*.cs"):
    os.remove(old)
for name, k in families:
    out = []
    out.append("// <auto-generated> by bench/tools/gen_microkernels.py; edit the generator, not this file. </auto-generated>")
    out.append("using System.Runtime.CompilerServices;")
    out.append("using System.Runtime.Intrinsics;")
    out.append("using System.Runtime.Intrinsics.X86;")
    out.append("")
    out.append("namespace Nn.Runtime.Kernels;")
    out.append("")
    if name == kernels[0][0]:
        out.append("/// <summary>Register-tiled GEMM micro-kernels over packed panels: A panel is kc×MR (MR values per k),")
        out.append("/// B panel kc×NR (NR values per k).</summary>")
    out.append("internal static unsafe partial class GemmMicroKernels")
    out.append("{")
    out.append(kernel(*k))
    out.append("}")
    open(f"{folder}/{name}.cs", "w").write("\n".join(out) + "\n")
