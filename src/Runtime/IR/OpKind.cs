namespace Nn.Runtime.IR;

/// <summary>Every primitive of the graph, grouped by category. Composite operations (dense, losses,
/// batchNorm, layerNorm) are built from these by the compiler or by <see cref="GraphBuilder"/> helpers.</summary>
internal enum OpKind
{
    // ---- sources: values that come from outside the step ----
    /// <summary>A named input fed per batch (features, targets, hyper-parameters such as the learning rate).</summary>
    Input,
    /// <summary>A trainable parameter, named by its path (<c>dense1.w</c>), with an initializer.</summary>
    Param,
    /// <summary>Non-trainable persistent state (optimizer moments, batch-norm running statistics).</summary>
    State,
    /// <summary>A constant filled with one value (<see cref="OpAttrs.Value"/>), usually of shape [].</summary>
    Const,

    // ---- elementwise unary ----
    Neg, Exp, Log, Sqrt, Abs, Sign, Tanh, Sigmoid, Relu,
    /// <summary>x &gt; 0 ? x : alpha·x (alpha in <see cref="OpAttrs.Value"/>).</summary>
    LeakyRelu,
    /// <summary>x &gt; 0 ? x : alpha·(eˣ − 1).</summary>
    Elu,
    /// <summary>Gaussian error linear unit (tanh approximation).</summary>
    Gelu,
    /// <summary>log(1 + eˣ), computed stably.</summary>
    Softplus,
    /// <summary>x·sigmoid(x) (also called swish).</summary>
    Silu,
    /// <summary>clamp(x/6 + 1/2, 0, 1) (PyTorch's hardsigmoid).</summary>
    HardSigmoid,
    /// <summary>log(sigmoid(x)) = −softplus(−x), computed stably.</summary>
    LogSigmoid,
    Sin, Cos, Square, Reciprocal,
    /// <summary>1 where x &gt; 0, else 0 (the derivative mask of relu).</summary>
    Step,

    // ---- elementwise binary (NumPy broadcasting) ----
    Add, Sub, Mul, Div, Pow, Max, Min,
    /// <summary>1 where a &gt;= b, else 0.</summary>
    GreaterEqual,
    /// <summary>1 where a == b, else 0 (no gradient).</summary>
    Equal,

    // ---- elementwise ternary ----
    /// <summary>cond != 0 ? a : b.</summary>
    Where,

    // ---- linear algebra and layout ----
    /// <summary>Matrix product; batched when the left side has more axes.</summary>
    MatMul,
    /// <summary>Axis permutation (<see cref="OpAttrs.Perm"/>).</summary>
    Transpose,
    /// <summary>Same elements, new shape (<see cref="OpAttrs.Target"/>).</summary>
    Reshape,
    /// <summary>Broadcast to <see cref="OpAttrs.Target"/> (explicit, as gradients of reductions need).</summary>
    Broadcast,
    /// <summary>Join along <see cref="OpAttrs.Axes"/>[0].</summary>
    Concat,
    /// <summary>Sub-range per axis (<see cref="OpAttrs.Slice"/>: starts and stops, stop exclusive).</summary>
    Slice,
    /// <summary>Zero padding per axis (<see cref="OpAttrs.Pad"/>: before and after; the gradient of slicing).</summary>
    Pad,
    /// <summary>Rows of a table: inputs (table [v, d], ids [..]) give [.., d] (an embedding lookup).</summary>
    Gather,
    /// <summary>The gradient of gather: inputs (g [.., d], ids [..]), Target = [v, d]; row ids[i] sums g[i].</summary>
    ScatterAdd,

    // ---- reductions over <see cref="OpAttrs.Axes"/>, keeping them as size 1 when KeepDims ----
    Sum, Mean, ReduceMax,
    /// <summary>Index of the maximum along Axes[0], as a float, axis kept (no gradient).</summary>
    ArgMax,

    // ---- normalised exponentials over Axes[0] ----
    Softmax, LogSoftmax,

    // ---- convolution and pooling, NHWC images, [kh, kw, cin, cout] kernels ----
    /// <summary>Strides and paddings in <see cref="OpAttrs.Conv"/>.</summary>
    Conv2d,
    /// <summary>Gradient of conv2d w.r.t. its input: inputs (dy, kernel), Target = input shape.</summary>
    Conv2dGradInput,
    /// <summary>Gradient of conv2d w.r.t. its kernel: inputs (x, dy), Target = kernel shape.</summary>
    Conv2dGradKernel,
    /// <summary>Window size, stride and paddings in <see cref="OpAttrs.Pool"/>; padded cells are ignored (never the
    /// maximum, not counted in a mean).</summary>
    MaxPool2d,
    /// <summary>Inputs (x, dy): routes dy to the arg-max of each window.</summary>
    MaxPool2dGrad,
    AvgPool2d,
    /// <summary>Inputs (dy), Target = input shape.</summary>
    AvgPool2dGrad,

    // ---- randomness and labels ----
    /// <summary>Inverted-dropout mask: 0 with probability p (Value), else 1/(1−p). <see cref="OpAttrs.Stream"/> is the
    /// op's stream id.</summary>
    DropoutMask,
    /// <summary>Class indices (as floats) to one-hot rows of width <see cref="OpAttrs.Width"/> (no gradient).</summary>
    OneHot,

    // ---- collectives: data-parallel ranks meet ----
    /// <summary>The element-wise sum of the operand over the ranks of a data-parallel job (the identity with one
    /// rank); only in a rank's training graph (<c>Distributed.DataParallelStep</c>), never exported.</summary>
    RankSum,
}
