/// The prelude, written in the language and shipped inside the compiler as an embedded resource.
module Nn.Compiler.Prelude

open System.IO
open Nn.Dsl

/// The prelude's source text.
let source =
    let asm = typeof<Nn.Compiler.Value>.Assembly
    use stream = asm.GetManifestResourceStream("Nn.Compiler.prelude.nn")
    if isNull stream then failwith "the prelude resource is missing from Nn.Compiler"
    use reader = new StreamReader(stream)
    reader.ReadToEnd()

/// The prelude's declarations (parsed once).
let declarations: Lazy<Decl list> =
    lazy
        (match Parser.parseProgram Context.preludeFile source with
         | Ok p -> p.Decls
         | Error ds -> failwithf "the prelude does not parse: %A" ds)
