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
    /// <summary>RMSprop with optional momentum.</summary>
    public static readonly OptimizerKind RmsProp = new RmsPropKind();
    /// <summary>Adagrad.</summary>
    public static readonly OptimizerKind Adagrad = new AdagradKind();

    /// <summary>The built-in optimizers, in the order the docs list them.</summary>
    public static readonly IReadOnlyList<OptimizerKind> Builtins = [Sgd, Adam, AdamW, RmsProp, Adagrad];

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
/// State slots and a recorder of their new values.</summary>
internal readonly record struct UpdateContext(
    Emit E, OptimizerSpec Spec, Node P, Node G, Node T, Func<string, Node> Slot, Action<Node, Node> Keep);
