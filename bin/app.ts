#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { buildApp } from '../lib/app.js';

const app = new App();
buildApp(app);
// Every synth is checked, so a finding fails `cdk synth` where it is introduced rather than in review. The
// constructs acknowledge their accepted findings themselves (Validations.acknowledge), with the reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
