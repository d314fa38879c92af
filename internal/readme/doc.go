// Package readme holds the test that runs README.md's shell blocks: the
// quickstart's, and each provider section's, as a reader pastes them into
// a shell at the root of a fresh clone, against the hookd they start
// themselves. It checks that the receiver they start prints the delivered
// body (after verifying its signature), so the README cannot drift from
// the product.
//
// A block is marked by an HTML comment on the line before its fence:
//
//	<!-- readme-test: SECTION -->          run as part of SECTION
//	<!-- readme-test: SECTION publish -->  run, then wait for the delivery
//	<!-- readme-test: skip (why) -->       not run, on purpose
//
// Every sh block under "## Quickstart" and "## Provider profiles" must be
// marked, and every section the test knows must have blocks.
package readme
