using Nn.Runtime.IR;
using Nn.Runtime.Ops;

namespace Nn.Runtime.Training;

/// <summary>
/// An optimizer: its language name, the hyper-parameters its settings record takes, its defaults and its update
/// rule, side by side. The built-ins are <see cref="Builtins"/>; the compiler turns an <c>optimizer</c> field's
/// name into one of these once (<see cref="Find"/>). Formulas and defaults are listed on <see cref="OptimizerSpec"/>.
/// </summary>
internal abstract record OptimizerKind(string Name, IReadOnlyList<string> HyperParameters)
{
    /// <summary>The learning rate when <c>lr</c> is not given.</summary>
    public virtual double DefaultLr => 1e-3;
    /// <summary>The denominator's ε when <c>eps</c> is not given.</summary>
    public virtual double DefaultEps => 1e-8;
    /// <summary>The weight decay when <c>weightDecay</c> is not given.</summary>
    public virtual double DefaultWeightDecay => 0;
    /// <summary>True when weight decay is decoupled (subtracted from the parameter), false when it is added to the
    /// gradient.</summary>
    public virtual bool DecoupledWeightDecay => false;

    /// <summary>The step for one parameter, which the caller multiplies by the learning rate and subtracts.</summary>
    /// <param name="u">the parameter, its gradient (after coupled weight decay), the spec and the builders</param>
    internal abstract Node Step(in UpdateContext u);

    /// <summary>The language name.</summary>
    public override string ToString() => Name;

    /// <summary>Stochastic gradient descent with optional (Nesterov) momentum.</summary>
    public static readonly OptimizerKind Sgd = new SgdKind();
    /// <summary>Adam with coupled weight decay.</summary>
    public static readonly OptimizerKind Adam = new AdamKind("adam", ["lr", "beta1", "beta2", "eps"], false);
    /// <summary>Adam with decoupled weight decay.</summary>
    public static readonly OptimizerKind AdamW =
        new AdamKind("adamW", ["lr", "beta1", "beta2", "eps", "weightDecay"], true);
    /// <summary>Adam with Nesterov momentum and PyTorch's momentum-decay schedule (NAdam).</summary>
    public static readonly OptimizerKind Nadam = new NadamKind();
    /// <summary>RMSprop with optional momentum.</summary>
    public static readonly OptimizerKind RmsProp = new RmsPropKind();
    /// <summary>Adagrad.</summary>
    public static readonly OptimizerKind Adagrad = new AdagradKind();

    /// <summary>The built-in optimizers, in the order the docs list them.</summary>
    public static readonly IReadOnlyList<OptimizerKind> Builtins = [Sgd, Adam, AdamW, Nadam, RmsProp, Adagrad];

    /// <summary>The names of <see cref="Builtins"/>.</summary>
    public static readonly IReadOnlyList<string> Names = Builtins.Select(o => o.Name).ToArray();

    /// <summary>The built-in optimizer of this name, or null.</summary>
    public static OptimizerKind? Find(string name) => Builtins.FirstOrDefault(o => o.Name == name);

    private sealed record SgdKind() : OptimizerKind("sgd", ["lr", "momentum", "nesterov"])
    {
        public override double DefaultLr => 0.01;
        internal override Node Step(in UpdateContext u)
        {
            var (e, s, g) = (u.E, u.Spec, u.G);
            if (s.Momentum == 0) return g;
            var buf = u.Slot("m");
            var nb = e.Add(e.Scale(s.Momentum, buf), g);
            u.Keep(buf, nb);
            return s.Nesterov ? e.Add(g, e.Scale(s.Momentum, nb)) : nb;
        }
    }

    private sealed record AdamKind(string N, IReadOnlyList<string> H, bool Decoupled) : OptimizerKind(N, H)
    {
        public override double DefaultWeightDecay => Decoupled ? 1e-2 : 0;
        public override bool DecoupledWeightDecay => Decoupled;
        internal override Node Step(in UpdateContext u)
        {
            var (e, s, g) = (u.E, u.Spec, u.G);
            var m = u.Slot("m"); var v = u.Slot("v");
            var nm = e.Add(e.Scale(s.Beta1, m), e.Scale(1 - s.Beta1, g));
            var nv = e.Add(e.Scale(s.Beta2, v), e.Scale(1 - s.Beta2, e.Square(g)));
            u.Keep(m, nm); u.Keep(v, nv);
            var c1 = e.Sub(e.C(1), e.Pow(e.C(s.Beta1), u.T));
            var c2 = e.Sub(e.C(1), e.Pow(e.C(s.Beta2), u.T));
            var step = e.Div(e.Div(nm, c1), e.Add(e.Sqrt(e.Div(nv, c2)), e.C(s.EffectiveEps)));
            var wd = s.EffectiveWeightDecay;
            return Decoupled && wd != 0 ? e.Add(step, e.Scale(wd, u.P)) : step;
        }
    }

    /// <summary>PyTorch's NAdam (Dozat 2016): μₜ = β₁(1 − ½·0.96^(t·ψ)) with ψ = <see cref="MomentumDecay"/>,
    /// Πₜ = μ₁⋯μₜ (the State <c>.muProduct</c>, a scalar starting at 1), m and v as Adam's, v̂ = v/(1 − β₂ᵗ);
    /// step = (1 − μₜ)/(1 − Πₜ)·g/(√v̂ + ε) + μₜ₊₁/(1 − Πₜμₜ₊₁)·m/(√v̂ + ε).</summary>
    private sealed record NadamKind() : OptimizerKind("nadam", ["lr", "beta1", "beta2", "eps"])
    {
        /// <summary>PyTorch's <c>momentum_decay</c> ψ (Keras' Nadam uses the same 0.96^(0.004·t) schedule).</summary>
        public const double MomentumDecay = 4e-3;
        public override double DefaultLr => 2e-3;
        internal override Node Step(in UpdateContext u)
        {
            var (e, s, g) = (u.E, u.Spec, u.G);
            var m = u.Slot("m"); var v = u.Slot("v");
            var product = u.Scalar("muProduct", InitSpec.Ones);
            var nm = e.Add(e.Scale(s.Beta1, m), e.Scale(1 - s.Beta1, g));
            var nv = e.Add(e.Scale(s.Beta2, v), e.Scale(1 - s.Beta2, e.Square(g)));
            Node Mu(Node step) => e.Scale(s.Beta1,
                e.Sub(e.C(1), e.Scale(0.5, e.Pow(e.C(0.96), e.Scale(MomentumDecay, step)))));
            var mu = Mu(u.T);
            var muNext = Mu(e.Add(u.T, e.C(1)));
            var nproduct = e.Mul(product, mu);
            u.Keep(m, nm); u.Keep(v, nv); u.Keep(product, nproduct);
            var c2 = e.Sub(e.C(1), e.Pow(e.C(s.Beta2), u.T));
            var denom = e.Add(e.Sqrt(e.Div(nv, c2)), e.C(s.EffectiveEps));
            var gradPart = e.Mul(e.Div(e.Sub(e.C(1), mu), e.Sub(e.C(1), nproduct)), e.Div(g, denom));
            var momentumPart = e.Mul(e.Div(muNext, e.Sub(e.C(1), e.Mul(nproduct, muNext))), e.Div(nm, denom));
            return e.Add(gradPart, momentumPart);
        }
    }

    private sealed record RmsPropKind() : OptimizerKind("rmsprop", ["lr", "rho", "eps", "momentum"])
    {
        public override double DefaultEps => 1e-7;
        internal override Node Step(in UpdateContext u)
        {
            var (e, s, g) = (u.E, u.Spec, u.G);
            var v = u.Slot("v");
            var nv = e.Add(e.Scale(s.Rho, v), e.Scale(1 - s.Rho, e.Square(g)));
            u.Keep(v, nv);
            var step = e.Div(g, e.Add(e.Sqrt(nv), e.C(s.EffectiveEps)));
            if (s.Momentum == 0) return step;
            var m = u.Slot("m");
            step = e.Add(e.Scale(s.Momentum, m), step);
            u.Keep(m, step);
            return step;
        }
    }

    private sealed record AdagradKind() : OptimizerKind("adagrad", ["lr", "eps"])
    {
        public override double DefaultLr => 0.01;
        public override double DefaultEps => 1e-10;
        internal override Node Step(in UpdateContext u)
        {
            var (e, g) = (u.E, u.G);
            var sum = u.Slot("sum");
            var ns = e.Add(sum, e.Square(g));
            u.Keep(sum, ns);
            return e.Div(g, e.Add(e.Sqrt(ns), e.C(u.Spec.EffectiveEps)));
        }
    }
}

/// <summary>What an update rule sees for one parameter: the emitter, the spec, the parameter <see cref="P"/>, its
/// gradient <see cref="G"/> (after coupled weight decay), the step number <see cref="T"/>, a maker of optimizer
/// State slots of the parameter's shape (zeros), a maker of scalar State slots with their initializer, and a
/// recorder of their new values.</summary>
internal readonly record struct UpdateContext(Emit E, OptimizerSpec Spec, Node P, Node G, Node T,
    Func<string, Node> Slot, Func<string, InitSpec, Node> Scalar, Action<Node, Node> Keep);
