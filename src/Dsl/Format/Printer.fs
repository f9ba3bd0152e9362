/// The pretty-printer / formatter (placeholder until it lands).
module Nn.Dsl.Printer

let formatProgram (p: Program) : string = sprintf "// %d declarations" p.Decls.Length

let formatExpr (e: Expr) : string = sprintf "%A" e
