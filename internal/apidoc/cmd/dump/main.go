// Command dump writes hookd's OpenAPI 3.0 document (see apidoc.OpenAPI30)
// to the file named by -o, or to standard output. `go generate ./client`
// runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/hookd/hookd/internal/apidoc"
)

func main() {
	out := flag.String("o", "", "write the document to this file (default: standard output)")
	flag.Parse()
	doc, err := apidoc.OpenAPI30(context.Background())
	if err == nil {
		if *out == "" {
			_, err = os.Stdout.Write(doc)
		} else {
			err = os.WriteFile(*out, doc, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dump:", err)
		os.Exit(1)
	}
}
