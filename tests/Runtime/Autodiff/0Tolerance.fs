/// Named tolerances of the graph properties (as ElementwiseTests names its ulp tolerances): each element is judged
/// by its own magnitude and by how much rounding it is exposed to, never by the largest element of its tensor.
module Nn.Tests.Runtime.Autodiff.Tolerance

open System

/// |actual − expected| ≤ Abs + Rel·(|expected| + Scale), Scale being what the caller knows of the terms that made
/// the value (their magnitudes, which rounding depends on when they cancel).
type Tol = { Abs: float; Rel: float }

/// float64 central differences against symbolic gradients, on ⟨∇f, v⟩ (Scale: |f| + Σ|∂f·v|). The step h = 1e-5
/// leaves a truncation error ~h²·|f'''| = 1e-10 and a rounding error ~1e-16/h = 1e-11 relative to the scale, so
/// 1e-5 relative is loose by 10⁴ for smooth points; Abs covers a result near zero made from terms near zero.
let gradient = { Abs = 1e-6; Rel = 1e-5 }

/// Hessian-vector products against central differences of the symbolic gradient (Scale: Σ|Hv·u| + Σ|∇f·u|):
/// one more level of differences, so ten times the gradient's bounds.
let hessian = { Abs = 1e-5; Rel = 1e-4 }

let withinScale (t: Tol) (scale: float) (expected: float) (actual: float) =
    abs (actual - expected) <= t.Abs + t.Rel * (abs expected + scale)

/// The fused float32 engine against the float32 reference interpreter, element by element:
///   |fused − ref| ≤ Abs + Rel·|ref| + Spread·√K·|ref − ref64|
/// where ref64 is the float64 reference and K the reduction length.
/// - Rel·|ref|: a well-conditioned element differs by a few ulps per op on its path (vectorised exp/tanh are
///   within 2.5e-6, ElementwiseTests.composed); 1e-4 allows ~10 such ops in a row with room to spare.
/// - |ref − ref64| is this element's own rounding error in float32 (the reference's summation order): where terms
///   cancel it is ~K·ε·Σ|terms| even though |ref| is small, exactly the part Rel·|ref| cannot see. The fused engine
///   sums in another order, so its error is another draw of the same size: two draws of a K-term rounding walk can
///   differ by ~√K times one of them; Spread = 4 is the margin on that.
/// - Abs: elements that are exactly zero in both references (masks, relu of negatives, saturated activations) but
///   tiny in the fused one. The vectorised tanh and exp carry an absolute error up to ~2.5e-6 where the float32
///   references round to exactly ±1 or 0, and derivative terms such as gelu's 0.5·x·(1 − tanh²) multiply it by |x|:
///   seen as −1.6e-6 against 0 in both references (seed 820171203, `sum(gelu(sum(p, [1; 3])) * r)`), so 1e-5.
type ElementTol = { Abs: float; Rel: float; Spread: float }

let fusedElement = { Abs = 1e-5; Rel = 1e-4; Spread = 4.0 }

/// Whether a fused element agrees with the reference (NaN with NaN, infinities equal).
let elementWithin (t: ElementTol) (k: int) (ref64: float) (reference: float) (fused: float) =
    (Double.IsNaN reference && Double.IsNaN fused)
    || reference = fused
    || abs (fused - reference) <= t.Abs + t.Rel * abs reference + t.Spread * sqrt (float k) * abs (reference - ref64)
