/* libFuzzer target for the validators of JSON documents that become stored
 * definitions: parameter sets (params_validate, with the structured values
 * indicators.catalogue and indicators.experience checked by ind_*_check) and
 * risk-model definitions (rm_def_parse). The input is a JSON text, given to
 * each validator whole; the catalogue and experience checks also get the
 * values found inside a parameter set, and the body's own members.
 *
 * The promises checked: every fault counted is in the errors array, each a
 * {field, reason} of strings; what validates reads (a parameter set accepted
 * is read without error by every reader its experiment's jobs use, as
 * POST /v1/parameter-sets promises); a risk-model definition accepted comes
 * back the same through its stored form and has a design. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a51/indicators.h"
#include "a51/params.h"
#include "a51/riskmodel.h"
#include "a51/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* n faults reported, and errors holds exactly n well-formed entries after the before first. */
static void check_errors(const json_t *errors, size_t before, size_t n)
{
	size_t i;
	json_t *e;

	if (json_array_size(errors) != before + n)
		abort();
	json_array_foreach(errors, i, e) {
		if (!json_is_string(json_object_get(e, "field")) || !json_is_string(json_object_get(e, "reason")) ||
		    !json_string_length(json_object_get(e, "reason")))
			abort();
	}
}

static void check_catalogue(const json_t *v)
{
	json_t *errors = json_array();
	struct ind_catalogue *cat = malloc(sizeof(*cat));
	struct ind_experience *ex = malloc(sizeof(*ex));
	struct a51_error err = { 0 };
	size_t n;

	if (!errors || !cat || !ex)
		abort();
	n = ind_catalogue_check(errors, "indicators.catalogue", v);
	check_errors(errors, 0, n);
	if (n == 0 && ind_catalogue_read(v, cat, &err) != 0)
		abort();
	json_array_clear(errors);
	n = ind_experience_check(errors, "indicators.experience", v);
	check_errors(errors, 0, n);
	if (n == 0 && ind_experience_read(v, ex, &err) != 0)
		abort();
	json_decref(errors);
	free(cat);
	free(ex);
}

static void check_param_set(const json_t *body)
{
	json_t *errors = json_array();
	struct a51_error err = { 0 };
	size_t n = params_validate(body, errors);
	const char *exp;

	check_errors(errors, 0, n);
	json_decref(errors);
	if (n)
		return;
	exp = json_string_value(json_object_get(body, "experiment"));
	{
		struct elig_params ep;
		if (params_read_eligibility(body, &ep, &err) != 0)
			abort();
	}
	if (strcmp(exp, "PEPS") == 0) {
		struct peps_params kp;
		struct patientele_params pp;
		if (params_read_peps(body, &kp, &err) != 0 || params_read_patientele(body, &pp, &err) != 0)
			abort();
	} else if (strcmp(exp, "IPEP") == 0) {
		struct ind_setup *s = malloc(sizeof(*s));
		struct ipep_params ip;
		if (!s || params_read_ipep(body, &ip, &err) != 0 || ind_setup_read(body, s, &err) != 0)
			abort();
		free(s);
	} else {
		struct eds_params xp;
		if (params_read_eds(body, &xp, &err) != 0)
			abort();
	}
}

static void check_risk_model(const json_t *body)
{
	json_t *errors = json_array(), *stored, *again;
	struct rm_def *d = malloc(sizeof(*d)), *d2 = malloc(sizeof(*d2));
	struct rm_design *design = malloc(sizeof(*design));
	struct a51_error err = { 0 };
	size_t n;

	if (!errors || !d || !d2 || !design)
		abort();
	n = rm_def_parse(body, d, errors);
	check_errors(errors, 0, n);
	if (n == 0) {
		stored = rm_def_json(d);
		if (!stored || rm_def_parse(stored, d2, errors) != 0)
			abort();
		again = rm_def_json(d2);
		if (!json_equal(stored, again))
			abort();
		if (rm_design_init(d, design, &err) != 0 || design->p < 1 || design->p > RM_MAX_COLUMNS)
			abort();
		json_decref(stored);
		json_decref(again);
	}
	json_decref(errors);
	free(d);
	free(d2);
	free(design);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	const char *key;
	json_t *v;

	if (!body)
		return 0;
	check_param_set(body);
	check_risk_model(body);
	check_catalogue(body);
	check_catalogue(params_value(body, "indicators.catalogue"));
	check_catalogue(params_value(body, "indicators.experience"));
	if (json_is_object(body))
		json_object_foreach(body, key, v)
			check_catalogue(v);
	json_decref(body);
	return 0;
}
