/**
 * The destination registry: a new destination is one file plus one line here (and its schema in
 * contracts/delivery.ts, which the compiler checks against this map). Each becomes the activity
 * `deliver<Type>` (../index.ts).
 */
import type { DeliveryDestination, DestinationType } from '../../../contracts/delivery';
import type { DestinationDefinition } from '../types';
import { discordDestination } from './discord';
import { emailDestination } from './email';
import { fileDestination } from './file';
import { slackDestination } from './slack';
import { telegramDestination } from './telegram';
import { webhookDestination } from './webhook';

export const DESTINATIONS: { [T in DestinationType]: DestinationDefinition<Extract<DeliveryDestination, { type: T }>> } = {
  webhook: webhookDestination,
  file: fileDestination,
  email: emailDestination,
  slack: slackDestination,
  discord: discordDestination,
  telegram: telegramDestination,
};
