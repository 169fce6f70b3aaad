/**
 * How cdk-nag names the findings this stack acknowledges, in one place: an acknowledgement must
 * carry the exact finding id, and a typo would silently acknowledge nothing (synth then fails on
 * the real finding, which is the safe way round, but the message would be confusing).
 */
import { type CfnElement, Stack } from 'aws-cdk-lib';
import type { IBucket } from 'aws-cdk-lib/aws-s3';

/**
 * The AwsSolutions-IAM5 finding for a grant on `<bucket ARN>/<pattern>` (pattern ends in `*`):
 * `AwsSolutions-IAM5[Resource::<LogicalId.Arn>/<pattern>]`.
 */
export const nagObjectsFinding = (bucket: IBucket, pattern = '*'): string => {
  const cfn = bucket.node.defaultChild as CfnElement;
  return `AwsSolutions-IAM5[Resource::<${Stack.of(bucket).getLogicalId(cfn)}.Arn>/${pattern}]`;
};
