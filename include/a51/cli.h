/* Command-line commands beyond serve and migrate (src/cli.c). */
#ifndef A51_CLI_H
#define A51_CLI_H

#include "a51/config.h"

/* a51d token create --name N --scope S [--read-only] [--expires-on YYYY-MM-DD]
 * a51d token list [--all]
 * a51d token revoke ID
 * Prints the new token once on stdout. Returns the process exit status. */
int cli_token(const struct a51_config *cfg, int argc, char **argv, int idx);

/* a51d synth --patients N --structures M --year Y --seed S --out DIR
 *            [--reference N] [--years K] [--region CODE] */
int cli_synth(int argc, char **argv, int idx);

#endif
