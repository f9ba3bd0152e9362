using System.Text;

namespace Nn.Runtime.IR;

/// <summary>Text and Graphviz renderings of a graph. The text form is stable (it depends only on the graph),
/// one line per node, so it serves golden tests:
/// <code>
/// %5 : [n, 8] = matMul %0 %3  # xor.nn(10,5)
/// out loss = %9
/// </code></summary>
internal static class GraphPrinter
{
    /// <summary>The op's name as printed: camelCase (<c>matMul</c>, <c>logSoftmax</c>).</summary>
    public static string OpName(OpKind op) => Primitives.Of(op).Name;

    /// <summary>The right-hand side of a node's line: op, operands and attributes (no shape, no span).</summary>
    public static string Describe(Node n)
    {
        if (n.Op == OpKind.Const) return "const " + InitSpec.Fmt(n.Attrs.Value);
        var sb = new StringBuilder(OpName(n.Op));
        foreach (var x in n.Inputs) sb.Append(' ').Append(x);
        var key = n.Attrs.Key;
        if (key.Length > 0) sb.Append(' ').Append(key);
        return sb.ToString();
    }

    /// <summary>One line per node (<c>%id : shape = op operands attributes # span</c>), then one line per
    /// output.</summary>
    public static string Text(Graph graph)
    {
        var sb = new StringBuilder();
        foreach (var n in graph.Nodes)
        {
            sb.Append(n).Append(" : ").Append(n.Shape).Append(" = ").Append(Describe(n));
            if (n.Span.Line > 0) sb.Append("  # ").Append(n.Span);
            sb.Append('\n');
        }
        foreach (var (name, node) in graph.Outputs)
            sb.Append("out ").Append(name).Append(" = ").Append(node).Append('\n');
        return sb.ToString();
    }

    /// <summary>A Graphviz digraph: each node labelled with its op, shape and source line; outputs as boxes.</summary>
    public static string Dot(Graph graph)
    {
        static string Esc(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"");
        var sb = new StringBuilder("digraph nn {\n  rankdir=TB;\n  node [shape=ellipse, fontname=\"monospace\"];\n");
        foreach (var n in graph.Nodes)
        {
            var label = $"{n} {OpName(n.Op)}" + (n.Name is null ? "" : $" {n.Name}")
                + (n.Op == OpKind.Const ? $" {InitSpec.Fmt(n.Attrs.Value)}" : "")
                + $"\\n{n.Shape}" + (n.Span.Line > 0 ? $"\\n{n.Span}" : "");
            var style = n.IsSource ? ", shape=box, style=rounded" : "";
            sb.Append($"  n{n.Id} [label=\"{Esc(label).Replace("\\\\n", "\\n")}\"{style}];\n");
            foreach (var x in n.Inputs) sb.Append($"  n{x.Id} -> n{n.Id};\n");
        }
        foreach (var (name, node) in graph.Outputs)
        {
            var id = "out_" + new string(name.Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray());
            sb.Append($"  {id} [label=\"{Esc(name)}\", shape=box, style=bold];\n  n{node.Id} -> {id};\n");
        }
        return sb.Append("}\n").ToString();
    }
}
