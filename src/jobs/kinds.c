/* The kinds of job a51d runs: a job's "kind" names its function here. */
#include "a51/jobs.h"
#include "a51/banned.h"

const struct job_kind a51_job_kinds[] = {
	{ "risk_model.fit", job_rm_fit },
	{ "risk_model.score", job_rm_score },
	{ "peps.run", job_peps_run },
	{ "peps.batch", job_peps_batch },
	{ "ipep.run", job_ipep_run },
	{ "ipep.batch", job_ipep_batch },
	{ "eds.run", job_eds_run },
	{ "eds.batch", job_eds_batch },
	{ "indicators.run", job_ind_run },
};
const size_t a51_job_kinds_count = sizeof(a51_job_kinds) / sizeof(a51_job_kinds[0]);
