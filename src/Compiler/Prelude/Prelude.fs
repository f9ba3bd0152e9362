/// The prelude, written in the language and shipped inside the compiler as an embedded resource.
module internal Nn.Compiler.Prelude

open System.IO
open Nn.Dsl

/// The prelude's source text.
let source =
    let asm = typeof<Nn.Compiler.Value>.Assembly
    use stream = asm.GetManifestResourceStream("Nn.Compiler.prelude.nn")
    if isNull stream then failwith "the prelude resource is missing from Nn.Compiler"
    use reader = new StreamReader(stream)
    reader.ReadToEnd()

/// The prelude's text at a span on one line (None for other files or spans over several lines).
let textAt (span: Span) : string option =
    if span.File <> Context.preludeFile || span.Start.Line <> span.End.Line || span.Start.Line < 1 then None
    else
        let lines = Diagnostic.lines source
        if span.Start.Line > lines.Length then None
        else
            let line = lines[span.Start.Line - 1]
            let a, b = span.Start.Column - 1, span.End.Column - 1
            if a < 0 || b > line.Length || b <= a then None else Some(line.Substring(a, b - a))

/// The prelude's declarations (parsed once).
let declarations: Lazy<Decl list> =
    lazy
        (match Parser.parseProgram Context.preludeFile source with
         | Ok p -> p.Decls
         | Error ds -> failwithf "the prelude does not parse: %A" ds)
