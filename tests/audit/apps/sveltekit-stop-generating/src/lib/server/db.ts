import { MongoClient } from 'mongodb';

const client = new MongoClient(process.env.MONGODB_URL ?? 'mongodb://localhost:27017');
const db = client.db('chat');

export const collections = {
  conversations: db.collection('conversations'),
  // One document per conversation whose generation the user stopped; the generator polls it.
  abortedGenerations: db.collection('abortedGenerations'),
};
