/// The FParsec grammar of `.nn` (placeholder until the grammar lands).
module Nn.Dsl.Parser

/// Parse a whole file. Returns the program or the diagnostics (at least one).
let parseProgram (file: string) (text: string) : Result<Program, Diagnostic list> =
    ignore text
    Result.Error [ Diagnostic.error "NN0100" (Span.make file (1, 1) (1, 2)) "the parser is not written yet" ]
