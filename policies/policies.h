/*
 * policies.h - the policies module's front header: the policy file and its model (policy.h),
 * the running policy with its snapshots (engine.h) and the admin API for access groups
 * (admin.h). Other folders include only this header.
 */
#ifndef POLICIES_H
#define POLICIES_H

#include "policies/admin.h"
#include "policies/engine.h"
#include "policies/policy.h"

#endif
