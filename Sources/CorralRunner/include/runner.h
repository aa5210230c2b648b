#pragma once
/// `corral-runner job ...`: the first process of a `corral run` container (job.c).
int job_main(int argc, char **argv);
